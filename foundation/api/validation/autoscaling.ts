/**
 * Validation of autoscaling/v2 HorizontalPodAutoscalers, with upstream's field paths and messages:
 * the target reference, replica bounds (minReplicas ≥ 1, maxReplicas ≥ minReplicas), each metric
 * (a known type whose source, and only that source, is set; a sound target) and the scaling
 * behavior (stabilization window 0–3600 s, policies Pods/Percent with positive values and periods
 * up to 1800 s).
 */
import type {
  HorizontalPodAutoscaler,
  HPAScalingRules,
  MetricIdentifier,
  MetricSpec,
  MetricTarget,
} from "../../../proto/gen/api.js";
import { quantityError, quantityValue } from "../quantity.js";
import { type Causes, child, index } from "./field.js";

export const metricSourceTypes = ["Object", "Pods", "Resource", "ContainerResource", "External"] as const;
const sourceField: Record<(typeof metricSourceTypes)[number], keyof MetricSpec> = {
  Object: "object",
  Pods: "pods",
  Resource: "resource",
  ContainerResource: "containerResource",
  External: "external",
};
const targetTypes = ["Utilization", "Value", "AverageValue"];
const selectPolicies = ["Max", "Min", "Disabled"];
const policyTypes = ["Pods", "Percent"];
const maxStabilizationWindowSeconds = 3600;
const maxPolicyPeriodSeconds = 1800;

function positiveQuantity(c: Causes, path: string, q: string | undefined): void {
  if (q === undefined) return;
  if (quantityError(q) === undefined && quantityValue(q) > 0) return;
  c.invalid(path, q, "must be positive");
}

function validateTarget(c: Causes, path: string, t: MetricTarget | undefined): void {
  if (!t?.type) c.required(child(path, "type"), "must specify a metric target type");
  else if (!targetTypes.includes(t.type))
    c.invalid(child(path, "type"), t.type, "must be either Utilization, Value, or AverageValue");
  if (t?.averageUtilization !== undefined && t.averageUtilization < 1)
    c.invalid(child(path, "averageUtilization"), t.averageUtilization, "must be greater than 0");
  positiveQuantity(c, child(path, "value"), t?.value);
  positiveQuantity(c, child(path, "averageValue"), t?.averageValue);
}

function validateMetricName(c: Causes, path: string, m: MetricIdentifier | undefined): void {
  if (!m?.name) c.required(child(child(path, "metric"), "name"), "must specify a metric name");
}

function validateResourceTarget(c: Causes, path: string, t: MetricTarget | undefined): void {
  const target = child(path, "target");
  validateTarget(c, target, t);
  if (t?.averageUtilization === undefined && t?.averageValue === undefined) {
    c.required(
      child(target, "averageUtilization"),
      "must set either a target raw value or a target utilization",
    );
  }
  if (t?.averageUtilization !== undefined && t.averageValue !== undefined) {
    c.invalid(
      child(target, "averageValue"),
      t.averageValue,
      "may not set both a target raw value and a target utilization",
    );
  }
}

function validateMetric(c: Causes, path: string, m: MetricSpec): void {
  const type = m.type ?? "";
  if (!type) c.required(child(path, "type"), "must specify a metric source type");
  else if (!(metricSourceTypes as readonly string[]).includes(type)) {
    c.notSupported(child(path, "type"), type, metricSourceTypes);
    return;
  }
  const set = metricSourceTypes.filter((t) => m[sourceField[t]] !== undefined);
  const own = type ? sourceField[type as keyof typeof sourceField] : undefined;
  if (own && m[own] === undefined) {
    c.required(child(path, own), "must populate information for the given metric source");
  }
  if (set.some((t) => t !== type))
    c.invalid(child(path, "type"), type, "must populate the given metric source only");
  const at = (field: string) => child(path, field);
  if (m.resource) {
    if (!m.resource.name) c.required(child(at("resource"), "name"), "must specify a resource name");
    validateResourceTarget(c, at("resource"), m.resource.target);
  }
  if (m.containerResource) {
    const p = at("containerResource");
    if (!m.containerResource.name) c.required(child(p, "name"), "must specify a resource name");
    if (!m.containerResource.container) c.required(child(p, "container"), "must specify a container");
    validateResourceTarget(c, p, m.containerResource.target);
  }
  if (m.pods) {
    const p = at("pods");
    validateMetricName(c, p, m.pods.metric);
    validateTarget(c, child(p, "target"), m.pods.target);
    if (m.pods.target?.averageValue === undefined)
      c.required(child(child(p, "target"), "averageValue"), "must specify a positive target averageValue");
  }
  for (const [field, src] of [
    ["object", m.object],
    ["external", m.external],
  ] as const) {
    if (!src) continue;
    const p = at(field);
    validateMetricName(c, p, src.metric);
    validateTarget(c, child(p, "target"), src.target);
    if (src.target?.value === undefined && src.target?.averageValue === undefined)
      c.required(child(child(p, "target"), "value"), "must set either a target value or averageValue");
  }
  if (m.object) {
    const ref = child(at("object"), "describedObject");
    if (!m.object.describedObject?.kind) c.required(child(ref, "kind"));
    if (!m.object.describedObject?.name) c.required(child(ref, "name"));
  }
}

function validateRules(c: Causes, path: string, r: HPAScalingRules | undefined): void {
  if (!r) return;
  const window = r.stabilizationWindowSeconds;
  if (window !== undefined && window < 0)
    c.invalid(child(path, "stabilizationWindowSeconds"), window, "must be greater than or equal to zero");
  if (window !== undefined && window > maxStabilizationWindowSeconds)
    c.invalid(
      child(path, "stabilizationWindowSeconds"),
      window,
      `must be less than or equal to ${maxStabilizationWindowSeconds}`,
    );
  if (r.selectPolicy && !selectPolicies.includes(r.selectPolicy))
    c.notSupported(child(path, "selectPolicy"), r.selectPolicy, selectPolicies);
  if (!r.policies?.length) c.required(child(path, "policies"), "must specify at least one Policy");
  (r.policies ?? []).forEach((p, i) => {
    const at = index(child(path, "policies"), i);
    if (!p.type || !policyTypes.includes(p.type))
      c.notSupported(child(at, "type"), p.type ?? "", policyTypes);
    if ((p.value ?? 0) <= 0) c.invalid(child(at, "value"), p.value ?? 0, "must be greater than zero");
    const period = p.periodSeconds ?? 0;
    if (period <= 0) c.invalid(child(at, "periodSeconds"), period, "must be greater than zero");
    else if (period > maxPolicyPeriodSeconds)
      c.invalid(
        child(at, "periodSeconds"),
        period,
        `must be less than or equal to ${maxPolicyPeriodSeconds}`,
      );
  });
}

export function validateHorizontalPodAutoscaler(c: Causes, hpa: HorizontalPodAutoscaler): void {
  const spec = hpa.spec ?? {};
  const ref = "spec.scaleTargetRef";
  if (!spec.scaleTargetRef?.kind) c.required(child(ref, "kind"));
  if (!spec.scaleTargetRef?.name) c.required(child(ref, "name"));
  else if (/[/%]/.test(spec.scaleTargetRef.name) || [".", ".."].includes(spec.scaleTargetRef.name))
    c.invalid(child(ref, "name"), spec.scaleTargetRef.name, "may not contain '/' or '%', nor be '.' or '..'");
  const min = spec.minReplicas ?? 1;
  const max = spec.maxReplicas ?? 0;
  if (min < 1) c.invalid("spec.minReplicas", min, "must be greater than or equal to 1");
  if (max < 1) c.invalid("spec.maxReplicas", max, "must be greater than 0");
  else if (min > max) c.invalid("spec.maxReplicas", max, "must be greater than or equal to `minReplicas`");
  (spec.metrics ?? []).forEach((m, i) => {
    validateMetric(c, index("spec.metrics", i), m);
  });
  validateRules(c, "spec.behavior.scaleUp", spec.behavior?.scaleUp);
  validateRules(c, "spec.behavior.scaleDown", spec.behavior?.scaleDown);
}
