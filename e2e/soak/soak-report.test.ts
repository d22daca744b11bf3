import { describe, expect, it } from "vitest";
import { count, fencesOverBlips, percentile, spreadByKind, type Tally } from "./soak-report.js";

describe("soak report arithmetic", () => {
  it("takes nearest-rank percentiles", () => {
    expect(percentile([], 50)).toBeUndefined();
    expect(percentile([7], 99)).toBe(7);
    // 4 values: p50 is the 2nd, p99 the 4th.
    expect(percentile([40, 10, 30, 20], 50)).toBe(20);
    expect(percentile([40, 10, 30, 20], 99)).toBe(40);
  });

  it("spreads values by kind", () => {
    expect(
      spreadByKind([
        { kind: "link-cut", ms: 3000 },
        { kind: "agent-kill", ms: 100 },
        { kind: "link-cut", ms: 1000 },
      ]),
    ).toEqual({
      "link-cut": { n: 2, p50Ms: 1000, p99Ms: 3000, maxMs: 3000 },
      "agent-kill": { n: 1, p50Ms: 100, p99Ms: 100, maxMs: 100 },
    });
  });

  it("tallies requests by kind", () => {
    const t: Record<string, Tally> = {};
    count(t, "none", true);
    count(t, "none", false);
    count(t, "link-cut", false);
    expect(t).toEqual({ none: { ok: 1, failed: 1 }, "link-cut": { ok: 0, failed: 1 } });
  });

  it("counts a fence in the window of a control plane blip as a violation, and one of a cut host not", () => {
    const faults = [
      { kind: "link-cut", target: "node5", atRunMs: 1_000, hostsFenced: 1 },
      { kind: "etcd-kill", target: "node2", atRunMs: 30_100, hostsFenced: 4 },
      { kind: "controlplane-kill", target: "node1", atRunMs: 60_000, hostsFenced: 0 },
    ];
    expect(fencesOverBlips(faults, new Set(["etcd-kill", "controlplane-kill"]))).toEqual([
      "4 fences in the window of etcd-kill node2 at 30.1 s (one control plane side blip; no node was cut off)",
    ]);
  });
});
