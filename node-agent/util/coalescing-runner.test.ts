import { afterEach, describe, expect, it, vi } from "vitest";
import { CoalescingRunner } from "./coalescing-runner.js";

afterEach(() => {
  vi.useRealTimers();
});

/** A job whose runs are counted and can be made to fail. */
function countingJob() {
  const state = { runs: 0, failing: false, concurrent: 0, maxConcurrent: 0 };
  const job = async () => {
    state.runs++;
    state.concurrent++;
    state.maxConcurrent = Math.max(state.maxConcurrent, state.concurrent);
    await Promise.resolve();
    state.concurrent--;
    if (state.failing) throw new Error("kernel said no");
    return state.runs;
  };
  return { state, job };
}

describe("CoalescingRunner", () => {
  it("coalesces requests made while a run is pending into one run", async () => {
    vi.useFakeTimers();
    const { state, job } = countingJob();
    const runner = new CoalescingRunner(job, { retryDelayMs: 1000, resyncIntervalMs: 0 });
    runner.schedule(0);
    expect(state.runs).toBe(0);
    runner.start();
    runner.schedule(10);
    runner.schedule(0);
    runner.schedule(5);
    await vi.advanceTimersByTimeAsync(10);
    expect(state.runs).toBe(1);
    await runner.stop();
  });

  it("never runs twice at once", async () => {
    const { state, job } = countingJob();
    const runner = new CoalescingRunner(job, { retryDelayMs: 1000, resyncIntervalMs: 0 });
    runner.start();
    const results = await Promise.all([runner.runNow(), runner.runNow(), runner.runNow()]);
    expect(results.sort()).toEqual([1, 2, 3]);
    expect(state.maxConcurrent).toBe(1);
    await runner.stop();
  });

  it("retries a failed run after the retry delay, replacing a sooner pending run", async () => {
    vi.useFakeTimers();
    const { state, job } = countingJob();
    const runner = new CoalescingRunner(job, { retryDelayMs: 1000, resyncIntervalMs: 0 });
    runner.start();
    state.failing = true;
    await expect(runner.runNow()).rejects.toThrow("kernel said no");
    runner.schedule(0);
    await vi.advanceTimersByTimeAsync(999);
    expect(state.runs).toBe(1);
    state.failing = false;
    await vi.advanceTimersByTimeAsync(1);
    expect(state.runs).toBe(2);
    await vi.advanceTimersByTimeAsync(5000);
    expect(state.runs).toBe(2);
    await runner.stop();
  });

  it("runs periodically, telling the owner first, until stopped", async () => {
    vi.useFakeTimers();
    const { state, job } = countingJob();
    let resyncs = 0;
    const runner = new CoalescingRunner(job, {
      retryDelayMs: 1000,
      resyncIntervalMs: 60_000,
      onResync: () => resyncs++,
    });
    runner.start();
    await vi.advanceTimersByTimeAsync(121_000);
    expect([resyncs, state.runs]).toEqual([2, 2]);
    await runner.stop();
    expect(runner.isStopped).toBe(true);
    runner.schedule(0);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(state.runs).toBe(2);
  });
});
