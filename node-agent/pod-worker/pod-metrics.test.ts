import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { podMetrics, StartStages } from "./pod-metrics.js";
import { stageTotals } from "./testing/stage-metrics.js";

describe("StartStages", () => {
  it("observes each stage once, as the start's total in it, when the pod first runs", async () => {
    const registry = new Registry();
    let now = 0;
    const stages = new StartStages(podMetrics(registry), "pod-uid", () => now);
    await stages.time("prestart/image", async () => {
      now += 30;
    });
    // A second attempt before Running adds to the stage, it is not another pod.
    await stages.time("prestart/image", async () => {
      now += 10;
    });
    stages.add("create-wait", 5);
    await expect(
      stages.time("create", async () => {
        now += 7;
        throw new Error("runtime refused");
      }),
    ).rejects.toThrow("runtime refused");
    stages.close();
    await stages.time("report", async () => {
      now += 100;
    });
    stages.close();
    expect(await stageTotals(registry)).toEqual({
      "prestart/image": { sum: 0.04, count: 1 },
      "create-wait": { sum: 0.005, count: 1 },
      create: { sum: 0.007, count: 1 },
    });
  });

  it("only runs the work when there is no registry", async () => {
    const stages = new StartStages(undefined, "pod-uid", () => {
      throw new Error("no clock read without metrics");
    });
    expect(await stages.time("create", async () => 42)).toBe(42);
  });
});
