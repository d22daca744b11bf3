/**
 * autoscaling/v1 ⇄ autoscaling/v2 HorizontalPodAutoscalers, as upstream converts them: v1's
 * targetCPUUtilizationPercentage is v2's Resource cpu metric with a Utilization target, and
 * currentCPUUtilizationPercentage that metric's current utilization. A v1 write keeps the stored
 * object's other metrics and behavior (upstream carries them in annotations; here the stored v2
 * object is the base), so editing through v1 never drops what v2 set.
 */
import type { HorizontalPodAutoscaler, HorizontalPodAutoscalerV1, MetricSpec } from "../../proto/gen/api.js";

const isCpu = (m: MetricSpec) => m.type === "Resource" && m.resource?.name === "cpu";

export function hpaToV1(hpa: HorizontalPodAutoscaler): HorizontalPodAutoscalerV1 {
  const spec = hpa.spec ?? {};
  const status = hpa.status;
  const target = spec.metrics?.find(isCpu)?.resource?.target?.averageUtilization;
  const current = status?.currentMetrics?.find((m) => m.type === "Resource" && m.resource?.name === "cpu")
    ?.resource?.current?.averageUtilization;
  return {
    apiVersion: "autoscaling/v1",
    kind: "HorizontalPodAutoscaler",
    metadata: hpa.metadata,
    spec: {
      ...(spec.scaleTargetRef ? { scaleTargetRef: spec.scaleTargetRef } : {}),
      ...(spec.minReplicas !== undefined ? { minReplicas: spec.minReplicas } : {}),
      maxReplicas: spec.maxReplicas ?? 0,
      ...(target !== undefined ? { targetCPUUtilizationPercentage: target } : {}),
    },
    status: {
      ...(status?.observedGeneration !== undefined ? { observedGeneration: status.observedGeneration } : {}),
      ...(status?.lastScaleTime ? { lastScaleTime: status.lastScaleTime } : {}),
      currentReplicas: status?.currentReplicas ?? 0,
      desiredReplicas: status?.desiredReplicas ?? 0,
      ...(current !== undefined ? { currentCPUUtilizationPercentage: current } : {}),
    },
  };
}

/** The v2 object a v1 write means, on top of `stored` (the current v2 object) when there is one. */
export function hpaFromV1(
  v1: HorizontalPodAutoscalerV1,
  stored?: HorizontalPodAutoscaler,
): HorizontalPodAutoscaler {
  const spec = v1.spec ?? {};
  const base = stored ? structuredClone(stored) : undefined;
  const others = (base?.spec?.metrics ?? []).filter((m) => !isCpu(m));
  const target = spec.targetCPUUtilizationPercentage;
  const cpu: MetricSpec[] =
    target !== undefined
      ? [
          {
            type: "Resource",
            resource: { name: "cpu", target: { type: "Utilization", averageUtilization: target } },
          },
        ]
      : (base?.spec?.metrics ?? []).filter(isCpu);
  const metrics = [...cpu, ...others];
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: v1.metadata,
    spec: {
      ...base?.spec,
      ...(spec.scaleTargetRef ? { scaleTargetRef: spec.scaleTargetRef } : {}),
      ...(spec.minReplicas !== undefined ? { minReplicas: spec.minReplicas } : {}),
      maxReplicas: spec.maxReplicas ?? 0,
      ...(metrics.length ? { metrics } : {}),
    },
    ...(base?.status ? { status: base.status } : {}),
  };
}
