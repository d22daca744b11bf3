import { describe, expect, it } from "vitest";
import {
  checkNodeTimings,
  defaultNodeGraceSeconds,
  defaultPodEvictionSeconds,
  fenceAfterMs,
  renewPeriodMs,
} from "./node-timing.js";

const names = { grace: "--node-monitor-grace-period", eviction: "--pod-eviction-timeout" };

describe("node timing chain", () => {
  it("defaults to renewals every 2 s, the fence at 10 s and the force-delete at 16 s", () => {
    expect(renewPeriodMs(defaultNodeGraceSeconds)).toBe(2_000);
    expect(fenceAfterMs(defaultNodeGraceSeconds, defaultPodEvictionSeconds)).toBe(10_000);
    expect(() => checkNodeTimings(defaultNodeGraceSeconds, defaultPodEvictionSeconds, names)).not.toThrow();
  });

  it("keeps Kubernetes' 40 s / 300 s possible: the fence then comes at 334 s", () => {
    expect(fenceAfterMs(40, 300)).toBe(334_000);
    expect(() => checkNodeTimings(40, 300, names)).not.toThrow();
  });

  it("refuses a pair that leaves the fence under two renewals, naming both flags", () => {
    expect(() => checkNodeTimings(4, 2, names)).toThrow(
      "--node-monitor-grace-period + --pod-eviction-timeout: 6 s leaves the agent's fence (sum − 6 s = 0 s) under two lease renewals (2 s); make the sum at least 8 s",
    );
    expect(() => checkNodeTimings(4, 4, names)).not.toThrow();
  });

  it("refuses a value under 2 s or not whole, naming the flag", () => {
    expect(() => checkNodeTimings(1, 8, names)).toThrow(
      "--node-monitor-grace-period: must be a whole number of seconds, at least 2 (got 1)",
    );
    expect(() => checkNodeTimings(8, 2.5, names)).toThrow(
      "--pod-eviction-timeout: must be a whole number of seconds, at least 2 (got 2.5)",
    );
  });
});
