import { describe, expect, it } from "vitest";
import { backoffStep, containerId, newRecord, parseContainerId } from "./container-record.js";

const policy = { baseMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

describe("backoffStep", () => {
  it("restarts at once the first time, then waits 10 s doubling to 5 minutes", () => {
    const rec = newRecord("c", false);
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      rec.startedAtMs = 0;
      const step = backoffStep(rec, 2_000, policy);
      delays.push(step.delayMs);
      rec.backoffMs = step.nextMs;
    }
    expect(delays).toEqual([0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
  });

  it("starts over after a container ran for 10 minutes", () => {
    const rec = { ...newRecord("c", false), backoffMs: 160_000, startedAtMs: 0 };
    expect(backoffStep(rec, 601_000, policy)).toEqual({ delayMs: 0, nextMs: 10_000 });
  });
});

describe("container ids", () => {
  it("round-trip pod uid, container name and attempt", () => {
    const uid = "edd65ac3-648c-4057-9f50-1dbd151c558e";
    expect(parseContainerId(containerId(uid, "my_app", 3))).toEqual({
      podUID: uid,
      name: "my_app",
      attempt: 3,
    });
    expect(parseContainerId("not-ours")).toBeUndefined();
  });
});
