/**
 * PodDisruptionBudget: how many of a set of pods voluntary disruptions (evictions, drains) must
 * leave running. The disruption controller writes its status; the eviction subresource reads it.
 */

import type { PodDisruptionBudget } from "../../proto/gen/api.js";
import { validatePodDisruptionBudget } from "../api/validation/policy.js";
import { created } from "../printers/cells.js";
import { selectorText } from "../printers/describe-sections.js";
import { defineKind } from "./kind.js";

const notApplicable = "N/A";

export const podDisruptionBudgetKind = defineKind<PodDisruptionBudget>({
  resource: {
    group: "policy",
    version: "v1",
    kind: "PodDisruptionBudget",
    plural: "poddisruptionbudgets",
    singular: "poddisruptionbudget",
    shortNames: ["pdb"],
    namespaced: true,
    subresources: ["status"],
    message: "kctl.api.PodDisruptionBudget",
    hasStatus: true,
  },
  validate: (c, pdb) => validatePodDisruptionBudget(c, pdb),
  columns: {
    headers: ["MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"],
    cells: (pdb, now) => [
      String(pdb.spec?.minAvailable ?? notApplicable),
      String(pdb.spec?.maxUnavailable ?? notApplicable),
      String(pdb.status?.disruptionsAllowed ?? 0),
      created(pdb, now),
    ],
  },
  describe: (w, pdb) => {
    const spec = pdb.spec ?? {};
    if (spec.minAvailable !== undefined) w.field(0, "Min available", String(spec.minAvailable));
    if (spec.maxUnavailable !== undefined) w.field(0, "Max unavailable", String(spec.maxUnavailable));
    w.field(0, "Selector", spec.selector ? selectorText(spec.selector) : "<unset>");
    const s = pdb.status ?? {};
    w.section(0, "Status");
    w.field(2, "Allowed disruptions", s.disruptionsAllowed ?? 0);
    w.field(2, "Current", s.currentHealthy ?? 0);
    w.field(2, "Desired", s.desiredHealthy ?? 0);
    w.field(2, "Total", s.expectedPods ?? 0);
  },
});
