/** Deployment: rolls a pod template out through ReplicaSets (the Deployment controller). */

import type { Deployment } from "../../proto/gen/api.js";
import { defaultDeployment } from "../api/defaults.js";
import { validateDeployment, validateSelectorUpdate } from "../api/validation/apps.js";
import { created, templateWide } from "../printers/cells.js";
import { conditions, podTemplate, selectorText } from "../printers/describe-sections.js";
import { defineKind } from "./kind.js";

export const deploymentKind = defineKind<Deployment>({
  resource: {
    group: "apps",
    version: "v1",
    kind: "Deployment",
    plural: "deployments",
    singular: "deployment",
    shortNames: ["deploy"],
    namespaced: true,
    subresources: ["status", "scale"],
    message: "kctl.api.Deployment",
    hasStatus: true,
  },
  defaults: defaultDeployment,
  validate: (c, d, old) => {
    validateDeployment(c, d);
    if (old) validateSelectorUpdate(c, d.spec?.selector, old.spec?.selector);
  },
  columns: {
    headers: ["READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
    wideHeaders: ["CONTAINERS", "IMAGES", "SELECTOR"],
    cells: (d, now) => {
      const s = d.status ?? {};
      return [
        `${s.readyReplicas ?? 0}/${d.spec?.replicas ?? 1}`,
        String(s.updatedReplicas ?? 0),
        String(s.availableReplicas ?? 0),
        created(d, now),
      ];
    },
    wideCells: (d) => templateWide(d.spec?.template, d.spec?.selector),
  },
  describe: (w, d) => {
    const s = d.status ?? {};
    w.field(0, "Selector", selectorText(d.spec?.selector));
    const desired = d.spec?.replicas ?? 1;
    w.field(
      0,
      "Replicas",
      `${desired} desired | ${s.updatedReplicas ?? 0} updated | ${s.replicas ?? 0} total | ${s.availableReplicas ?? 0} available | ${s.unavailableReplicas ?? 0} unavailable`,
    );
    const strategy = d.spec?.strategy?.type ?? "RollingUpdate";
    w.field(0, "StrategyType", strategy);
    w.field(0, "MinReadySeconds", d.spec?.minReadySeconds ?? 0);
    if (strategy === "RollingUpdate") {
      const ru = d.spec?.strategy?.rollingUpdate;
      w.field(
        0,
        "RollingUpdateStrategy",
        `${ru?.maxUnavailable ?? "25%"} max unavailable, ${ru?.maxSurge ?? "25%"} max surge`,
      );
    }
    podTemplate(w, d.spec?.template);
    conditions(w, s.conditions, true);
  },
});
