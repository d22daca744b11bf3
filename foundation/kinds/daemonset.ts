/** DaemonSet: one pod of a template on every eligible node (the DaemonSet controller). */

import type { DaemonSet } from "../../proto/gen/api.js";
import { defaultDaemonSet } from "../api/defaults.js";
import { validateSelectorUpdate } from "../api/validation/apps.js";
import { validateDaemonSet } from "../api/validation/daemonset.js";
import { created, none, templateWide } from "../printers/cells.js";
import { conditions, podTemplate, selectorText } from "../printers/describe-sections.js";
import { defineKind } from "./kind.js";

/** The NODE SELECTOR cell: the template's nodeSelector as `k=v,k2=v2`, sorted like kubectl's. */
function nodeSelectorText(ds: DaemonSet): string {
  const pairs = Object.entries(ds.spec?.template?.spec?.nodeSelector ?? {}).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  return pairs.map(([k, v]) => `${k}=${v}`).join(",") || none;
}

export const daemonSetKind = defineKind<DaemonSet>({
  resource: {
    group: "apps",
    version: "v1",
    kind: "DaemonSet",
    plural: "daemonsets",
    singular: "daemonset",
    shortNames: ["ds"],
    namespaced: true,
    // As upstream: a DaemonSet's size is its eligible nodes, so it has no scale subresource.
    subresources: ["status"],
    message: "kctl.api.DaemonSet",
    hasStatus: true,
  },
  defaults: defaultDaemonSet,
  validate: (c, ds, old) => {
    validateDaemonSet(c, ds);
    if (old) validateSelectorUpdate(c, ds.spec?.selector, old.spec?.selector);
  },
  columns: {
    headers: ["DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"],
    wideHeaders: ["CONTAINERS", "IMAGES", "SELECTOR"],
    cells: (ds, now) => {
      const s = ds.status ?? {};
      return [
        String(s.desiredNumberScheduled ?? 0),
        String(s.currentNumberScheduled ?? 0),
        String(s.numberReady ?? 0),
        String(s.updatedNumberScheduled ?? 0),
        String(s.numberAvailable ?? 0),
        nodeSelectorText(ds),
        created(ds, now),
      ];
    },
    wideCells: (ds) => templateWide(ds.spec?.template, ds.spec?.selector),
  },
  describe: (w, ds) => {
    const s = ds.status ?? {};
    w.field(0, "Selector", selectorText(ds.spec?.selector));
    w.field(0, "Node-Selector", nodeSelectorText(ds));
    w.field(0, "Desired Number of Nodes Scheduled", s.desiredNumberScheduled ?? 0);
    w.field(0, "Current Number of Nodes Scheduled", s.currentNumberScheduled ?? 0);
    w.field(0, "Number of Nodes Scheduled with Up-to-date Pods", s.updatedNumberScheduled ?? 0);
    w.field(0, "Number of Nodes Scheduled with Available Pods", s.numberAvailable ?? 0);
    w.field(0, "Number of Nodes Misscheduled", s.numberMisscheduled ?? 0);
    const strategy = ds.spec?.updateStrategy;
    w.field(0, "Update Strategy", strategy?.type ?? "RollingUpdate");
    if (strategy?.type === "RollingUpdate") {
      const ru = strategy.rollingUpdate;
      w.field(
        0,
        "RollingUpdateStrategy",
        `${ru?.maxUnavailable ?? 1} max unavailable, ${ru?.maxSurge ?? 0} max surge`,
      );
    }
    podTemplate(w, ds.spec?.template);
    conditions(w, s.conditions, true);
  },
});
