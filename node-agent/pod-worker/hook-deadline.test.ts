import { describe, expect, it } from "vitest";
import { DEADLINE_EXCEEDED, deadlineHook } from "./hook-deadline.js";
import { fakeRun, podOf } from "./testing/fake-pod-run.js";

describe("deadline hook", () => {
  it("ends the pod once it has been active for activeDeadlineSeconds since its start time", async () => {
    const run = fakeRun(podOf({ activeDeadlineSeconds: 30, containers: [{ name: "main" }] }));
    run.clock.advance(29_999);
    expect(await deadlineHook().prerun!(run)).toBeUndefined();
    run.clock.advance(1);
    expect(await deadlineHook().prerun!(run)).toEqual({ fail: DEADLINE_EXCEEDED });
    expect(DEADLINE_EXCEEDED.reason).toBe("DeadlineExceeded");
  });

  it("leaves a pod without a deadline alone", async () => {
    const run = fakeRun(podOf({ containers: [{ name: "main" }] }));
    run.clock.advance(10 ** 9);
    expect(await deadlineHook().prerun!(run)).toBeUndefined();
  });
});
