/**
 * Validation of policy/v1 PodDisruptionBudget (upstream's ValidatePodDisruptionBudgetSpec): at most
 * one of minAvailable and maxUnavailable, each a count or a percent up to 100%, a valid selector
 * (empty selects every pod of the namespace), and a known unhealthyPodEvictionPolicy.
 */

import type { PodDisruptionBudget } from "../../../proto/gen/api.js";
import { validateIntOrPercent } from "./apps.js";
import type { Causes } from "./field.js";
import { validateLabelSelectorAt } from "./pod.js";

export const unhealthyPodEvictionPolicies = ["AlwaysAllow", "IfHealthyBudget"] as const;

export function validatePodDisruptionBudget(c: Causes, pdb: PodDisruptionBudget): void {
  const spec = pdb.spec ?? {};
  if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined) {
    c.invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set");
  }
  for (const field of ["minAvailable", "maxUnavailable"] as const) {
    const value = spec[field];
    const n = validateIntOrPercent(c, `spec.${field}`, value);
    if (typeof value === "string" && n !== undefined && n > 100)
      c.invalid(`spec.${field}`, value, "must not be greater than 100%");
  }
  if (spec.selector) validateLabelSelectorAt(c, "spec.selector", spec.selector);
  const policy = spec.unhealthyPodEvictionPolicy;
  if (policy !== undefined && !(unhealthyPodEvictionPolicies as readonly string[]).includes(policy))
    c.notSupported("spec.unhealthyPodEvictionPolicy", policy, unhealthyPodEvictionPolicies);
}
