/**
 * Validation of apps/v1 DaemonSet (upstream's ValidateDaemonSetSpec): the selector and template
 * rules every workload shares, no activeDeadlineSeconds in the template, non-negative counts, and
 * the update strategy: OnDelete, or RollingUpdate whose maxUnavailable and maxSurge are counts or
 * percents up to 100% with exactly one of them non-zero.
 */

import type { DaemonSet } from "../../../proto/gen/api.js";
import { validateIntOrPercent, validateSelectorAndTemplate } from "./apps.js";
import { type Causes, validateNonNegative } from "./field.js";

export function validateDaemonSet(c: Causes, ds: DaemonSet): void {
  const spec = ds.spec ?? {};
  validateSelectorAndTemplate(c, spec.selector, spec.template);
  if (spec.template?.spec?.activeDeadlineSeconds !== undefined) {
    c.forbidden(
      "spec.template.spec.activeDeadlineSeconds",
      "activeDeadlineSeconds in DaemonSet is not Supported",
    );
  }
  validateNonNegative(c, "spec.minReadySeconds", spec.minReadySeconds);
  validateNonNegative(c, "spec.revisionHistoryLimit", spec.revisionHistoryLimit);
  validateUpdateStrategy(c, ds);
}

function validateUpdateStrategy(c: Causes, ds: DaemonSet): void {
  const path = "spec.updateStrategy";
  const strategy = ds.spec?.updateStrategy ?? {};
  switch (strategy.type) {
    case "OnDelete":
      return;
    case "RollingUpdate":
      break;
    default:
      c.notSupported(`${path}.type`, strategy.type ?? "", ["RollingUpdate", "OnDelete"]);
      return;
  }
  const ru = strategy.rollingUpdate;
  if (!ru) {
    c.required(`${path}.rollingUpdate`);
    return;
  }
  const unavailable = checkCount(c, `${path}.rollingUpdate.maxUnavailable`, ru.maxUnavailable);
  const surge = checkCount(c, `${path}.rollingUpdate.maxSurge`, ru.maxSurge);
  if (unavailable === undefined || surge === undefined) return;
  // Surging and leaving nodes short at once would double-count a node; neither would never progress.
  if (unavailable !== 0 && surge !== 0) {
    c.invalid(
      `${path}.rollingUpdate.maxSurge`,
      ru.maxSurge,
      "may not be set when maxUnavailable is non-zero",
    );
  } else if (unavailable === 0 && surge === 0) {
    c.required(`${path}.rollingUpdate.maxUnavailable`, "cannot be 0 when maxSurge is 0");
  }
}

/** A count or percent up to 100%; its number (0 when absent), or undefined when invalid. */
function checkCount(c: Causes, path: string, value: number | string | undefined): number | undefined {
  const before = c.list.length;
  const n = validateIntOrPercent(c, path, value);
  if (c.list.length > before) return undefined;
  if (typeof value === "string" && n !== undefined && n > 100) {
    c.invalid(path, value, "must not be greater than 100%");
    return undefined;
  }
  return n ?? 0;
}
