/**
 * Validation of the apps group: ReplicaSet and Deployment. Both need a non-empty selector that
 * matches their pod template's labels, a valid template whose restartPolicy is Always, and
 * non-negative counts; Deployments add the rollout strategy. spec.selector never changes on update.
 */

import { isDeepStrictEqual } from "node:util";
import type { Deployment, LabelSelector, PodTemplateSpec, ReplicaSet } from "../../../proto/gen/api.js";
import { matchesSelector, selectorFromLabelSelector } from "../labels.js";
import {
  type Causes,
  child,
  isPercent,
  validateLabels,
  validateNonNegative,
  validateOneOf,
} from "./field.js";
import { validateAnnotations } from "./meta.js";
import { validateLabelSelectorAt, validatePodSpec } from "./pod.js";

/** spec.selector and spec.template of a workload: a non-empty selector matching a valid template whose restartPolicy is Always. */
export function validateSelectorAndTemplate(
  c: Causes,
  selector: LabelSelector | undefined,
  template: PodTemplateSpec | undefined,
): void {
  const selectorPath = "spec.selector";
  const empty =
    !selector ||
    (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0);
  let selectorOk = false;
  if (empty) c.required(selectorPath, "a non-empty selector is required");
  else selectorOk = validateLabelSelectorAt(c, selectorPath, selector);

  const templatePath = "spec.template";
  if (!template) {
    c.required(templatePath);
    return;
  }
  const labels = template.metadata?.labels;
  const labelsPath = child(child(templatePath, "metadata"), "labels");
  validateLabels(c, labelsPath, labels);
  validateAnnotations(
    c,
    child(child(templatePath, "metadata"), "annotations"),
    template.metadata?.annotations,
  );
  if (selectorOk && selector && !matchesSelector(selectorFromLabelSelector(selector), labels ?? {})) {
    c.invalid(labelsPath, labels ?? {}, "`selector` does not match template `labels`");
  }
  const specPath = child(templatePath, "spec");
  validatePodSpec(c, template.spec, specPath);
  const policy = template.spec?.restartPolicy;
  if (policy !== undefined && policy !== "Always")
    c.notSupported(child(specPath, "restartPolicy"), policy, ["Always"]);
}

export function validateReplicaSet(c: Causes, rs: ReplicaSet): void {
  const spec = rs.spec ?? {};
  validateNonNegative(c, "spec.replicas", spec.replicas);
  validateNonNegative(c, "spec.minReadySeconds", spec.minReadySeconds);
  validateSelectorAndTemplate(c, spec.selector, spec.template);
}

export function validateDeployment(c: Causes, d: Deployment): void {
  const spec = d.spec ?? {};
  validateNonNegative(c, "spec.replicas", spec.replicas);
  validateNonNegative(c, "spec.minReadySeconds", spec.minReadySeconds);
  validateNonNegative(c, "spec.revisionHistoryLimit", spec.revisionHistoryLimit);
  if (spec.progressDeadlineSeconds !== undefined) {
    if (spec.progressDeadlineSeconds <= 0) {
      c.invalid("spec.progressDeadlineSeconds", spec.progressDeadlineSeconds, "must be greater than 0");
    } else if (spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0)) {
      c.invalid(
        "spec.progressDeadlineSeconds",
        spec.progressDeadlineSeconds,
        "must be greater than minReadySeconds",
      );
    }
  }
  validateSelectorAndTemplate(c, spec.selector, spec.template);

  const strategy = spec.strategy ?? {};
  validateOneOf(c, "spec.strategy.type", strategy.type, ["RollingUpdate", "Recreate"], false);
  const ru = strategy.rollingUpdate;
  if (strategy.type === "Recreate" && ru) {
    c.forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'");
  } else if (ru) {
    const surge = validateIntOrPercent(c, "spec.strategy.rollingUpdate.maxSurge", ru.maxSurge);
    const unavailable = validateIntOrPercent(
      c,
      "spec.strategy.rollingUpdate.maxUnavailable",
      ru.maxUnavailable,
    );
    if (typeof ru.maxUnavailable === "string" && unavailable !== undefined && unavailable > 100) {
      c.invalid(
        "spec.strategy.rollingUpdate.maxUnavailable",
        ru.maxUnavailable,
        "must not be greater than 100%",
      );
    }
    if (surge === 0 && unavailable === 0) {
      c.invalid(
        "spec.strategy.rollingUpdate.maxUnavailable",
        ru.maxUnavailable ?? 0,
        "may not be 0 when `maxSurge` is 0",
      );
    }
  }
}

/** Checks an intOrString count ("25%" or 3) and returns its number (percent or count) when valid. */
export function validateIntOrPercent(
  c: Causes,
  path: string,
  value: number | string | undefined,
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string") {
    if (!isPercent(value)) {
      c.invalid(
        path,
        value,
        "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%')",
      );
      return undefined;
    }
    return Number(value.slice(0, -1));
  }
  if (value < 0) {
    c.invalid(path, value, "must be greater than or equal to 0");
    return undefined;
  }
  return value;
}

/** spec.selector of ReplicaSets, Deployments and DaemonSets is fixed at creation. */
export function validateSelectorUpdate(
  c: Causes,
  selector: LabelSelector | undefined,
  old: LabelSelector | undefined,
): void {
  if (!isDeepStrictEqual(normalize(selector), normalize(old))) c.immutable("spec.selector", selector ?? {});
}

function normalize(s: LabelSelector | undefined): unknown {
  return { matchLabels: s?.matchLabels ?? {}, matchExpressions: s?.matchExpressions ?? [] };
}
