import { describe, expect, it } from "vitest";
import { ConcurrencyLimit, podStartLimit } from "./concurrency-limit.js";

/** A job that resolves or rejects when told; `started` says whether it began. */
function gate() {
  let open!: () => void;
  let fail!: (err: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  const job = {
    started: false,
    open,
    fail,
    run: async () => {
      job.started = true;
      await done;
    },
  };
  return job;
}

const tick = () => new Promise((r) => setImmediate(r));

describe("ConcurrencyLimit", () => {
  it("runs at most max jobs at once, the rest in arrival order, and frees a slot on failure", async () => {
    const limit = new ConcurrencyLimit(2);
    const jobs = [gate(), gate(), gate(), gate()];
    const runs = jobs.map((j) => limit.run(j.run));
    await tick();
    expect(jobs.map((j) => j.started)).toEqual([true, true, false, false]);
    jobs[1]!.fail(new Error("boom"));
    await expect(runs[1]).rejects.toThrow("boom");
    await tick();
    expect(jobs.map((j) => j.started)).toEqual([true, true, true, false]);
    jobs[0]!.open();
    await tick();
    expect(jobs[3]!.started).toBe(true);
    jobs[2]!.open();
    jobs[3]!.open();
    await Promise.all([runs[0], runs[2], runs[3]]);
    // Every slot is free again: max new jobs start at once.
    const more = [gate(), gate()];
    const again = more.map((j) => limit.run(j.run));
    await tick();
    expect(more.map((j) => j.started)).toEqual([true, true]);
    for (const j of more) j.open();
    await Promise.all(again);
  });

  it("refuses a bound that is not a positive integer, naming it", () => {
    expect(() => new ConcurrencyLimit(0)).toThrow("max: 0");
    expect(() => new ConcurrencyLimit(1.5)).toThrow("max: 1.5");
  });

  it("allows two pod starts per core, at least two", () => {
    expect(podStartLimit(2).max).toBe(4);
    expect(podStartLimit(1).max).toBe(2);
  });
});
