/**
 * Fixture tests of the HPA controller: caches preloaded with an HPA, the target's scale and pods,
 * usage samples, one or more `sync(key)` at instants of a fake clock, and the actions it took
 * (scale writes, status, events). Table-driven, no timers.
 */
import { describe, expect, it } from "vitest";
import { matchesSelector, type Selector } from "../../../foundation/api/labels.js";
import type { ResourceInfo } from "../../../foundation/api/resources.js";
import { FakeClock } from "../../../foundation/util/clock.js";
import { rfc3339 } from "../../../foundation/util/time.js";
import type { HorizontalPodAutoscaler, Pod, Scale } from "../../../proto/gen/api.js";
import type { ApiObject, ControllerClient } from "../../client/controller-client.js";
import { type DeepReadonly, deepFreeze, type Lister } from "../../client/index.js";
import { PodAutoscalerController } from "./controller.js";
import type { PodUsageSample } from "./metrics-source.js";

const t0 = Date.parse("2024-01-01T00:00:00Z");
const key = "default/web";

function lister<T extends { metadata: { namespace?: string; name?: string } }>(items: () => T[]): Lister<T> {
  const all = () => items().map((i) => deepFreeze(structuredClone(i)) as DeepReadonly<T>);
  return {
    get: (k) => all().find((i) => `${i.metadata.namespace}/${i.metadata.name}` === k),
    list: all,
    byIndex: () => [],
    size: () => items().length,
  };
}

interface PodSpec {
  name: string;
  cpu?: string | null; // request; null: none
  memory?: string;
  phase?: string;
  /** Ready since (ms); undefined: Ready since long ago; null: not ready. */
  readySince?: number | null;
  started?: number;
}

function pod(p: PodSpec): Pod {
  const requests: Record<string, string> = {};
  if (p.cpu !== null) requests.cpu = p.cpu ?? "100m";
  if (p.memory) requests.memory = p.memory;
  const readyAt = p.readySince === undefined ? t0 - 3_600_000 : p.readySince;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: p.name, namespace: "default", labels: { app: "web" } },
    spec: { containers: [{ name: "app", image: "busybox", resources: { requests } }] },
    status: {
      phase: p.phase ?? "Running",
      startTime: rfc3339(p.started ?? t0 - 3_600_000),
      conditions:
        readyAt === null
          ? [{ type: "Ready", status: "False", lastTransitionTime: rfc3339(t0 - 1000) }]
          : [{ type: "Ready", status: "True", lastTransitionTime: rfc3339(readyAt) }],
    },
  };
}

function hpa(spec: Partial<NonNullable<HorizontalPodAutoscaler["spec"]>> = {}): HorizontalPodAutoscaler {
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: "web", namespace: "default", generation: 1 },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
      minReplicas: 1,
      maxReplicas: 10,
      metrics: [
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
        },
      ],
      ...spec,
    },
  };
}

interface World {
  hpa: HorizontalPodAutoscaler;
  replicas: number;
  pods: Pod[];
  /** Usage by pod: cpu in millicores, memory in bytes. */
  usage: Record<string, { cpu?: number; memory?: number }>;
  selector?: string;
}

function harness(w: World) {
  const clock = new FakeClock(t0);
  const actions: string[] = [];
  const events: string[] = [];
  let stored = structuredClone(w.hpa);
  const client = {
    updateStatus: async <T extends ApiObject>(_info: ResourceInfo, obj: T) => {
      stored = structuredClone(obj) as unknown as HorizontalPodAutoscaler;
      return obj;
    },
  } as unknown as ControllerClient;
  const samples = (): PodUsageSample[] =>
    Object.entries(w.usage).map(([name, u]) => ({
      name,
      timestampMs: clock.now() - 1000,
      windowMs: 15_000,
      containers: [
        {
          name: "app",
          usage: {
            ...(u.cpu !== undefined ? { cpu: u.cpu } : {}),
            ...(u.memory !== undefined ? { memory: u.memory * 1000 } : {}),
          },
        },
      ],
    }));
  const controller = new PodAutoscalerController({
    hpas: lister(() => [stored]),
    pods: lister(() => w.pods),
    metrics: {
      podMetrics: (_ns: string, selector: Selector) =>
        samples().filter((s) =>
          matchesSelector(selector, w.pods.find((p) => p.metadata.name === s.name)?.metadata.labels),
        ),
    },
    client,
    scales: {
      getScale: async (): Promise<Scale> => ({
        apiVersion: "autoscaling/v1",
        kind: "Scale",
        metadata: { name: "web", namespace: "default" },
        spec: { replicas: w.replicas },
        status: { replicas: w.replicas, selector: w.selector ?? "app=web" },
      }),
      updateScale: async (_info, _ns, name, scale) => {
        actions.push(`scale ${name} ${w.replicas}→${scale.spec?.replicas}`);
        w.replicas = scale.spec?.replicas ?? 0;
        return scale;
      },
    },
    recorder: { event: (_o, type, reason, message) => events.push(`${type} ${reason}: ${message}`) },
    clock,
    queue: { add: () => {}, addAfter: () => {} },
  });
  return {
    clock,
    actions,
    events,
    status: () => stored.status,
    condition: (type: string) => {
      const c = stored.status?.conditions?.find((x) => x.type === type);
      return c ? `${c.status} ${c.reason}` : undefined;
    },
    sync: async () => controller.sync(key).catch((err: unknown) => `error: ${(err as Error).message}`),
  };
}

const running = (n: number, o: Partial<PodSpec> = {}) =>
  Array.from({ length: n }, (_, i) => pod({ name: `web-${i}`, ...o }));
const usageOf = (n: number, cpu: number) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`web-${i}`, { cpu }]));

describe("HPA controller: one sync", () => {
  const cases: {
    name: string;
    world: World;
    actions: string[];
    conditions?: Record<string, string>;
    event?: RegExp;
    desired?: number;
  }[] = [
    {
      name: "scales up to ceil(current × usage/target), limited to max(2×current, 4) without behavior",
      // 2 pods at 150m of 100m requested, target 50%: ratio 3 → 6; legacy limit max(4, 4) = 4.
      world: { hpa: hpa(), replicas: 2, pods: running(2), usage: usageOf(2, 150) },
      actions: ["scale web 2→4"],
      conditions: {
        AbleToScale: "True SucceededRescale",
        ScalingActive: "True ValidMetricFound",
        ScalingLimited: "True ScaleUpLimit",
      },
      event:
        /Normal SuccessfulRescale: New size: 4; reason: cpu resource utilization \(percentage of request\) above target/,
      desired: 4,
    },
    {
      name: "changes nothing within the 10% tolerance",
      // 52m of 100m: 52% against 50% → ratio 1.04.
      world: { hpa: hpa(), replicas: 3, pods: running(3), usage: usageOf(3, 52) },
      actions: [],
      conditions: { AbleToScale: "True ReadyForNewScale", ScalingLimited: "False DesiredWithinRange" },
      desired: 3,
    },
    {
      name: "caps at maxReplicas",
      world: { hpa: hpa({ maxReplicas: 3 }), replicas: 2, pods: running(2), usage: usageOf(2, 150) },
      actions: ["scale web 2→3"],
      conditions: { ScalingLimited: "True TooManyReplicas" },
    },
    {
      name: "raises a target below minReplicas without reading metrics",
      world: { hpa: hpa({ minReplicas: 3 }), replicas: 1, pods: running(1), usage: {} },
      actions: ["scale web 1→3"],
      event: /New size: 3; reason: Current number of replicas below Spec.MinReplicas/,
    },
    {
      name: "leaves a target scaled to zero alone",
      world: { hpa: hpa(), replicas: 0, pods: [], usage: {} },
      actions: [],
      conditions: { ScalingActive: "False ScalingDisabled" },
    },
    {
      name: "counts a pod without metrics as idle on a scale-up",
      // web-0, web-1 at 150%; web-2 missing → 0: (150+150+0)/300 = 100% → ratio 2 → 6 (limit 6).
      world: { hpa: hpa(), replicas: 3, pods: running(3), usage: usageOf(2, 150) },
      actions: ["scale web 3→6"],
    },
    {
      name: "counts a pod without metrics as using its full request on a scale-down",
      // web-0, web-1 at 10%, web-2 missing → 100%: 40% against 50% → ratio 0.8 → ceil(2.4) = 3: no change.
      world: {
        hpa: hpa({
          behavior: {
            scaleDown: {
              stabilizationWindowSeconds: 0,
              selectPolicy: "Max",
              policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
            },
            scaleUp: {
              stabilizationWindowSeconds: 0,
              selectPolicy: "Max",
              policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
            },
          },
        }),
        replicas: 3,
        pods: running(3),
        usage: usageOf(2, 10),
      },
      actions: [],
    },
    {
      name: "counts an unready pod as idle on a scale-up",
      // web-0 ready at 100%, web-1 unready (its 100% sample ignored, then 0): ratio 1 → no change.
      world: {
        hpa: hpa(),
        replicas: 2,
        pods: [pod({ name: "web-0" }), pod({ name: "web-1", readySince: null, started: t0 - 10_000 })],
        usage: usageOf(2, 100),
      },
      actions: [],
    },
    {
      name: "refuses to compute without a CPU request, naming the container",
      world: { hpa: hpa(), replicas: 2, pods: running(2, { cpu: null }), usage: usageOf(2, 150) },
      actions: [],
      conditions: { ScalingActive: "False FailedGetResourceMetric" },
      event:
        /Warning FailedGetResourceMetric: failed to get cpu utilization: missing request for cpu in container app of Pod web-0/,
    },
    {
      name: "reports missing metrics",
      world: { hpa: hpa(), replicas: 2, pods: running(2), usage: {} },
      actions: [],
      conditions: { ScalingActive: "False FailedGetResourceMetric" },
      event: /no metrics returned from resource metrics API/,
    },
    {
      name: "scales on an AverageValue memory target",
      // 3 pods at 300Mi, target 100Mi → ratio 3 → 9 (limit 6).
      world: {
        hpa: hpa({
          metrics: [
            {
              type: "Resource",
              resource: { name: "memory", target: { type: "AverageValue", averageValue: "100Mi" } },
            },
          ],
        }),
        replicas: 3,
        pods: running(3),
        usage: Object.fromEntries([0, 1, 2].map((i) => [`web-${i}`, { memory: 300 * 2 ** 20 }])),
      },
      actions: ["scale web 3→6"],
    },
    {
      name: "takes the largest proposal over several metrics",
      world: {
        hpa: hpa({
          maxReplicas: 20,
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
        }),
        replicas: 4,
        pods: running(4),
        usage: Object.fromEntries([0, 1, 2, 3].map((i) => [`web-${i}`, { cpu: 60, memory: 300 * 2 ** 20 }])),
      },
      // cpu 120% → 5 (ratio 1.2 → ceil 4.8); memory ratio 3 → 12; limit 8.
      actions: ["scale web 4→8"],
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const h = harness(c.world);
      await h.sync();
      expect(h.actions).toEqual(c.actions);
      for (const [type, want] of Object.entries(c.conditions ?? {})) expect(h.condition(type)).toBe(want);
      if (c.event) expect(h.events.join("\n")).toMatch(c.event);
      if (c.desired !== undefined) expect(h.status()?.desiredReplicas).toBe(c.desired);
    });
  }

  it("scales on the metrics it can read when another fails, keeping currentMetrics lined up", async () => {
    const h = harness({
      hpa: hpa({
        metrics: [
          {
            type: "Pods",
            pods: { metric: { name: "qps" }, target: { type: "AverageValue", averageValue: "10" } },
          },
          {
            type: "Resource",
            resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
          },
        ],
      }),
      replicas: 2,
      pods: running(2),
      usage: usageOf(2, 150),
    });
    await h.sync();
    expect(h.actions).toEqual(["scale web 2→4"]);
    expect(h.events.join("\n")).toMatch(/Warning FailedGetPodsMetric: unable to get metric of type Pods/);
    expect(h.status()?.currentMetrics?.[0]).toEqual({});
    expect(h.status()?.currentMetrics?.[1]?.resource?.current?.averageUtilization).toBe(150);
  });

  it("writes the current utilization into status and the scale time", async () => {
    const h = harness({ hpa: hpa(), replicas: 2, pods: running(2), usage: usageOf(2, 150) });
    await h.sync();
    expect(h.status()).toMatchObject({
      observedGeneration: 1,
      currentReplicas: 2,
      desiredReplicas: 4,
      lastScaleTime: rfc3339(t0),
      currentMetrics: [
        {
          type: "Resource",
          resource: { name: "cpu", current: { averageUtilization: 150, averageValue: "150m" } },
        },
      ],
    });
  });
});

describe("HPA controller over time (injected clock)", () => {
  it("holds a scale-down for the 5-minute window without behavior, then scales down", async () => {
    const w: World = { hpa: hpa(), replicas: 4, pods: running(4), usage: usageOf(4, 5) };
    const h = harness(w);
    await h.sync();
    expect(h.actions).toEqual([]);
    expect(h.condition("AbleToScale")).toBe("True ScaleDownStabilized");
    h.clock.advance(5 * 60_000 + 1000);
    await h.sync();
    // 5% of 50% → ratio 0.1 → ceil(0.4) = 1.
    expect(h.actions).toEqual(["scale web 4→1"]);
    expect(h.events.at(-1)).toMatch(/New size: 1; reason: All metrics below target/);
  });

  it("follows behavior: a shortened scale-down window, and Pods/Percent policies with selectPolicy", async () => {
    const behavior = {
      scaleUp: {
        stabilizationWindowSeconds: 0,
        selectPolicy: "Min",
        policies: [
          { type: "Pods", value: 1, periodSeconds: 60 },
          { type: "Percent", value: 100, periodSeconds: 60 },
        ],
      },
      scaleDown: {
        stabilizationWindowSeconds: 30,
        selectPolicy: "Max",
        policies: [{ type: "Pods", value: 2, periodSeconds: 60 }],
      },
    };
    const w: World = { hpa: hpa({ behavior }), replicas: 2, pods: running(2), usage: usageOf(2, 150) };
    const h = harness(w);
    await h.sync();
    // Min of (+1 pod, +100%) per 60 s: 2 → 3.
    expect(h.actions).toEqual(["scale web 2→3"]);
    expect(h.condition("ScalingLimited")).toBe("True ScaleUpLimit");
    h.clock.advance(15_000);
    w.pods = running(3);
    w.usage = usageOf(3, 150);
    await h.sync();
    expect(h.actions).toEqual(["scale web 2→3"]); // the period's budget is spent
    h.clock.advance(60_000);
    await h.sync();
    expect(h.actions.at(-1)).toBe("scale web 3→4");
    // Load gone: recommendations of the last 30 s hold it, then at most 2 pods per 60 s go.
    w.pods = running(4);
    w.usage = usageOf(4, 1);
    h.clock.advance(1000);
    await h.sync();
    expect(h.actions.at(-1)).toBe("scale web 3→4");
    expect(h.condition("AbleToScale")).toBe("True ScaleDownStabilized");
    // Past the window, and past the last scale-up's period (which would count towards the start
    // of this one: 4 − 1 added = 3 → 1): 4 − 2 pods = 2.
    h.clock.advance(61_000);
    await h.sync();
    expect(h.actions.at(-1)).toBe("scale web 4→2");
    expect(h.condition("ScalingLimited")).toBe("True ScaleDownLimit");
  });
});
