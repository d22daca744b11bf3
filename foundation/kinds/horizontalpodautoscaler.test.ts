import { describe, expect, it } from "vitest";
import type { HorizontalPodAutoscaler } from "../../proto/gen/api.js";
import { decodeObject } from "../api/codec.js";
import type { KubeObject } from "../api/object.js";
import { resourceForKind } from "../api/resources.js";
import { formatTargets, horizontalPodAutoscalerKind } from "./horizontalpodautoscaler.js";
import { applyDefaults, validateObject } from "./index.js";

const info = resourceForKind("autoscaling/v2", "HorizontalPodAutoscaler")!;
type Hpa = HorizontalPodAutoscaler & KubeObject;

const hpa = (spec: Record<string, unknown>): Hpa =>
  applyDefaults(
    info,
    decodeObject({
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "web", namespace: "default" },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
        maxReplicas: 5,
        ...spec,
      },
    }) as Hpa,
  );
const fields = (obj: Hpa) => validateObject(info, obj).map((c) => `${c.field}: ${c.message}`);

describe("HorizontalPodAutoscaler defaults", () => {
  it("fills minReplicas 1 and an 80% CPU target, and leaves an absent behavior absent", () => {
    const obj = hpa({});
    expect(obj.spec?.minReplicas).toBe(1);
    expect(obj.spec?.metrics).toEqual([
      {
        type: "Resource",
        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
      },
    ]);
    expect(obj.spec?.behavior).toBeUndefined();
    expect(fields(obj)).toEqual([]);
  });

  it("completes a partial behavior with upstream's rules (scale down over 300 s)", () => {
    const obj = hpa({ behavior: { scaleDown: { stabilizationWindowSeconds: 10 } } });
    expect(obj.spec?.behavior?.scaleDown).toEqual({
      stabilizationWindowSeconds: 10,
      selectPolicy: "Max",
      policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
    });
    expect(obj.spec?.behavior?.scaleUp?.policies).toHaveLength(2);
    expect(fields(obj)).toEqual([]);
  });
});

describe("HorizontalPodAutoscaler validation names the field", () => {
  it.each([
    [
      { minReplicas: 6 },
      "spec.maxReplicas: Invalid value: 5: must be greater than or equal to `minReplicas`",
    ],
    [{ minReplicas: 0 }, "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1"],
    [
      { metrics: [{ type: "Bogus" }] },
      'spec.metrics[0].type: Unsupported value: "Bogus": supported values: "Object", "Pods", "Resource", "ContainerResource", "External"',
    ],
    [
      { metrics: [{ type: "Resource" }] },
      "spec.metrics[0].resource: Required value: must populate information for the given metric source",
    ],
    [
      {
        metrics: [
          {
            type: "Resource",
            resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 0 } },
          },
        ],
      },
      "spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0",
    ],
    [
      { behavior: { scaleUp: { policies: [{ type: "Pods", value: 1, periodSeconds: 3600 }] } } },
      "spec.behavior.scaleUp.policies[0].periodSeconds: Invalid value: 3600: must be less than or equal to 1800",
    ],
    [
      { behavior: { scaleDown: { stabilizationWindowSeconds: 4000 } } },
      "spec.behavior.scaleDown.stabilizationWindowSeconds: Invalid value: 4000: must be less than or equal to 3600",
    ],
  ])("%j", (spec, want) => {
    expect(fields(hpa(spec))).toContain(want);
  });

  it("requires the target's kind and name", () => {
    const obj = hpa({ scaleTargetRef: {} });
    expect(fields(obj)).toEqual(
      expect.arrayContaining([
        "spec.scaleTargetRef.kind: Required value",
        "spec.scaleTargetRef.name: Required value",
      ]),
    );
  });
});

describe("HorizontalPodAutoscaler columns", () => {
  it("prints REFERENCE and TARGETS as kubectl 1.32 does", () => {
    const obj = hpa({
      metrics: [
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
        },
        {
          type: "Resource",
          resource: { name: "memory", target: { type: "AverageValue", averageValue: "100Mi" } },
        },
      ],
    });
    expect(formatTargets(obj)).toBe("cpu: <unknown>/50%, memory: <unknown>/100Mi");
    obj.status = {
      currentReplicas: 2,
      currentMetrics: [{ type: "Resource", resource: { name: "cpu", current: { averageUtilization: 35 } } }],
    };
    const cells = horizontalPodAutoscalerKind.columns!.cells(obj as never, Date.now());
    expect(cells.slice(0, 5)).toEqual([
      "Deployment/web",
      "cpu: 35%/50%, memory: <unknown>/100Mi",
      "1",
      "5",
      "2",
    ]);
  });
});
