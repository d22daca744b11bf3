/** ReplicaSet: keeps a number of pods from one template running (the ReplicaSet controller). */

import type { ReplicaSet } from "../../proto/gen/api.js";
import { defaultReplicaSet } from "../api/defaults.js";
import { validateReplicaSet, validateSelectorUpdate } from "../api/validation/apps.js";
import { created, templateWide } from "../printers/cells.js";
import { conditions, podTemplate, selectorText } from "../printers/describe-sections.js";
import { defineKind } from "./kind.js";

export const replicaSetKind = defineKind<ReplicaSet>({
  resource: {
    group: "apps",
    version: "v1",
    kind: "ReplicaSet",
    plural: "replicasets",
    singular: "replicaset",
    shortNames: ["rs"],
    namespaced: true,
    subresources: ["status", "scale"],
    message: "kctl.api.ReplicaSet",
    hasStatus: true,
  },
  defaults: defaultReplicaSet,
  validate: (c, rs, old) => {
    validateReplicaSet(c, rs);
    if (old) validateSelectorUpdate(c, rs.spec?.selector, old.spec?.selector);
  },
  columns: {
    headers: ["DESIRED", "CURRENT", "READY", "AGE"],
    wideHeaders: ["CONTAINERS", "IMAGES", "SELECTOR"],
    cells: (rs, now) => [
      String(rs.spec?.replicas ?? 1),
      String(rs.status?.replicas ?? 0),
      String(rs.status?.readyReplicas ?? 0),
      created(rs, now),
    ],
    wideCells: (rs) => templateWide(rs.spec?.template, rs.spec?.selector),
  },
  describe: (w, rs) => {
    w.field(0, "Selector", selectorText(rs.spec?.selector));
    w.field(0, "Replicas", `${rs.status?.replicas ?? 0} current / ${rs.spec?.replicas ?? 1} desired`);
    w.field(
      0,
      "Pods Status",
      `${rs.status?.readyReplicas ?? 0} Ready / ${rs.status?.availableReplicas ?? 0} Available`,
    );
    podTemplate(w, rs.spec?.template);
    conditions(w, rs.status?.conditions, true);
  },
});
