/**
 * StatefulSet: pods with stable names (`<set>-<ordinal>`), DNS names through a headless Service and
 * their own claims from volumeClaimTemplates, created, updated and removed in ordinal order (the
 * StatefulSet controller).
 */

import type { StatefulSet } from "../../proto/gen/api.js";
import { defaultPod } from "../api/defaults.js";
import { validateSelectorUpdate } from "../api/validation/apps.js";
import { validateStatefulSet, validateStatefulSetUpdate } from "../api/validation/statefulset.js";
import { created, templateWide } from "../printers/cells.js";
import { podTemplate, selectorText } from "../printers/describe-sections.js";
import { defineKind } from "./kind.js";
import { accessModesText } from "./storage-cells.js";

export const statefulSetKind = defineKind<StatefulSet>({
  resource: {
    group: "apps",
    version: "v1",
    kind: "StatefulSet",
    plural: "statefulsets",
    singular: "statefulset",
    shortNames: ["sts"],
    namespaced: true,
    subresources: ["status", "scale"],
    message: "kctl.api.StatefulSet",
    hasStatus: true,
  },
  defaults: (set) => {
    set.spec ??= {};
    const spec = set.spec;
    spec.replicas ??= 1;
    spec.podManagementPolicy ??= "OrderedReady";
    spec.updateStrategy ??= {};
    spec.updateStrategy.type ??= "RollingUpdate";
    if (spec.updateStrategy.type === "RollingUpdate") {
      spec.updateStrategy.rollingUpdate ??= {};
      spec.updateStrategy.rollingUpdate.partition ??= 0;
    }
    spec.revisionHistoryLimit ??= 10;
    spec.persistentVolumeClaimRetentionPolicy ??= {};
    spec.persistentVolumeClaimRetentionPolicy.whenDeleted ??= "Retain";
    spec.persistentVolumeClaimRetentionPolicy.whenScaled ??= "Retain";
    if (spec.template) defaultPod(spec.template);
    for (const t of spec.volumeClaimTemplates ?? []) {
      t.spec ??= {};
      t.spec.volumeMode ??= "Filesystem";
    }
  },
  validate: (c, set, old) => {
    validateStatefulSet(c, set);
    if (old) {
      validateSelectorUpdate(c, set.spec?.selector, old.spec?.selector);
      validateStatefulSetUpdate(c, set, old);
    }
  },
  columns: {
    headers: ["READY", "AGE"],
    wideHeaders: ["CONTAINERS", "IMAGES"],
    cells: (set, now) => [`${set.status?.readyReplicas ?? 0}/${set.spec?.replicas ?? 1}`, created(set, now)],
    wideCells: (set) => templateWide(set.spec?.template, undefined).slice(0, 2),
  },
  describe: (w, set) => {
    const spec = set.spec ?? {};
    w.field(0, "Selector", selectorText(spec.selector));
    w.field(0, "Replicas", `${spec.replicas ?? 1} desired | ${set.status?.replicas ?? 0} total`);
    const strategy = spec.updateStrategy?.type ?? "RollingUpdate";
    w.field(0, "Update Strategy", strategy);
    if (strategy === "RollingUpdate")
      w.field(2, "Partition", spec.updateStrategy?.rollingUpdate?.partition ?? 0);
    w.field(
      0,
      "Pods Status",
      `${set.status?.readyReplicas ?? 0} Ready / ${set.status?.updatedReplicas ?? 0} Updated / ${set.status?.currentReplicas ?? 0} Current`,
    );
    podTemplate(w, spec.template);
    const claims = spec.volumeClaimTemplates ?? [];
    if (claims.length === 0) w.field(0, "Volume Claims", "<none>");
    else w.section(0, "Volume Claims");
    for (const t of claims) {
      w.field(2, "Name", t.metadata?.name);
      w.field(2, "StorageClass", t.spec?.storageClassName ?? "");
      w.map(2, "Labels", t.metadata?.labels);
      w.map(2, "Annotations", t.metadata?.annotations);
      w.field(2, "Capacity", t.spec?.resources?.requests?.storage);
      w.field(2, "Access Modes", `[${accessModesText(t.spec?.accessModes)}]`);
    }
  },
});
