/**
 * Upstream's defaulting of autoscaling/v2 HorizontalPodAutoscalers: minReplicas 1, a CPU target of
 * 80% utilization when no metric is given, and, only when `behavior` is set, every rule it leaves
 * out filled from the defaults below (a nil behavior stays nil: the controller then applies its
 * older fixed rules, as upstream's does).
 */
import type { HorizontalPodAutoscaler, HPAScalingRules } from "../../proto/gen/api.js";

/** Scale up: no stabilization; at most +4 pods or +100% per 15 s, whichever adds more. */
export function defaultScaleUpRules(): HPAScalingRules {
  return {
    stabilizationWindowSeconds: 0,
    selectPolicy: "Max",
    policies: [
      { type: "Pods", value: 4, periodSeconds: 15 },
      { type: "Percent", value: 100, periodSeconds: 15 },
    ],
  };
}

/** Scale down: the highest recommendation of the last 300 s; up to 100% per 15 s. */
export function defaultScaleDownRules(): HPAScalingRules {
  return {
    stabilizationWindowSeconds: 300,
    selectPolicy: "Max",
    policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
  };
}

function fillRules(rules: HPAScalingRules | undefined, defaults: HPAScalingRules): HPAScalingRules {
  if (!rules) return defaults;
  if (!rules.policies?.length) rules.policies = defaults.policies ?? [];
  rules.selectPolicy ||= defaults.selectPolicy ?? "Max";
  rules.stabilizationWindowSeconds ??= defaults.stabilizationWindowSeconds ?? 0;
  return rules;
}

export function defaultHorizontalPodAutoscaler(hpa: HorizontalPodAutoscaler): void {
  hpa.spec ??= {};
  const spec = hpa.spec;
  spec.minReplicas ??= 1;
  if (!spec.metrics?.length) {
    spec.metrics = [
      {
        type: "Resource",
        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
      },
    ];
  }
  if (spec.behavior) {
    spec.behavior.scaleUp = fillRules(spec.behavior.scaleUp, defaultScaleUpRules());
    spec.behavior.scaleDown = fillRules(spec.behavior.scaleDown, defaultScaleDownRules());
  }
}
