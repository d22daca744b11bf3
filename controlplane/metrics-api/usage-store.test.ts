import { describe, expect, it } from "vitest";
import type { NodeStatsReport, PodStats } from "../../proto/gen/node.js";
import { UsageStore } from "./usage-store.js";

const usage = (timestampMs: number, cpuUsageMicroseconds: number, memoryWorkingSetBytes = 1 << 20) => ({
  timestampMs,
  cpuUsageMicroseconds,
  memoryWorkingSetBytes,
});
const pod = (name: string, uid: string, t: number, cpuUs: number): PodStats => ({
  namespace: "default",
  name,
  uid,
  containers: [{ name: "app", usage: usage(t, cpuUs) }],
});
const report = (t: number, cpuUs: number, pods: PodStats[]): NodeStatsReport => ({
  nodeName: "n1",
  usage: usage(t, cpuUs),
  pods,
});

describe("UsageStore", () => {
  it("gives CPU as the rate between the last two samples", () => {
    let now = 0;
    const store = new UsageStore(() => now);
    store.record("n1", report(1_000, 0, [pod("web", "u1", 1_000, 5_000)]));
    expect(store.node("n1")).toBeUndefined();
    expect(store.pod("default", "web")).toBeUndefined();
    now = 16_000;
    // 15 s window: node used 7.5 s of CPU (half a core); the pod 1.5 s (100m).
    store.record("n1", report(16_000, 7_500_000, [pod("web", "u1", 16_000, 1_505_000)]));
    expect(store.node("n1")).toEqual({
      timestampMs: 16_000,
      windowMs: 15_000,
      cpuNanoCores: 500_000_000,
      memoryBytes: 1 << 20,
    });
    expect(store.pod("default", "web")?.containers[0]?.usage.cpuNanoCores).toBe(100_000_000);
    expect(store.listPods("default").map((p) => p.name)).toEqual(["web"]);
    expect(store.listPods("other")).toEqual([]);
  });

  it("starts over when a pod is replaced (new uid) or a counter goes back (restart)", () => {
    let now = 0;
    const store = new UsageStore(() => now);
    store.record("n1", report(0, 0, [pod("web", "u1", 0, 0)]));
    now = 15_000;
    store.record("n1", report(15_000, 1, [pod("web", "u2", 15_000, 9_000_000)]));
    expect(store.pod("default", "web")).toBeUndefined();
    now = 30_000;
    store.record("n1", report(30_000, 2, [pod("web", "u2", 30_000, 10)]));
    expect(store.pod("default", "web")).toBeUndefined();
  });

  it("forgets pods the node stops listing and nodes that stop reporting", () => {
    let now = 0;
    const store = new UsageStore(() => now, 60_000);
    store.record("n1", report(0, 0, [pod("web", "u1", 0, 0)]));
    now = 15_000;
    store.record("n1", report(15_000, 1, [pod("web", "u1", 15_000, 1)]));
    expect(store.listPods()).toHaveLength(1);
    now = 30_000;
    store.record("n1", report(30_000, 2, []));
    expect(store.listPods()).toHaveLength(0);
    expect(store.listNodes()).toHaveLength(1);
    now = 91_000;
    expect(store.listNodes()).toHaveLength(0);
  });
});
