import { describe, expect, it } from "vitest";
import { FakeClock } from "../../foundation/util/clock.js";
import { ItemExponentialRateLimiter } from "./rate-limiter.js";
import { WorkQueue } from "./work-queue.js";

function newQueue(clock = new FakeClock()): WorkQueue {
  return new WorkQueue({ clock, rateLimiter: new ItemExponentialRateLimiter({ baseMs: 10, maxMs: 80 }) });
}

describe("WorkQueue", () => {
  it("deduplicates waiting keys and hands them out in FIFO order", async () => {
    const q = newQueue();
    for (const k of ["a", "b", "a", "c", "b"]) q.add(k);
    expect(q.len()).toBe(3);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(["a", "b", "c"]);
    expect(q.len()).toBe(0);
  });

  it("never hands a key in progress to a second worker, and requeues it once after done", async () => {
    const q = newQueue();
    q.add("a");
    const first = await q.get();
    q.add("a");
    q.add("a");
    expect(q.len()).toBe(0);
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done(first!);
    await Promise.resolve();
    expect(second).toBe("a");
    q.done("a");
    expect(q.len()).toBe(0);
  });

  it("wakes a waiting worker when a key arrives", async () => {
    const q = newQueue();
    const got = q.get();
    q.add("x");
    expect(await got).toBe("x");
  });

  it("addAfter delays a key, keeping the earliest time per key", async () => {
    const clock = new FakeClock();
    const q = newQueue(clock);
    q.addAfter("a", 100);
    q.addAfter("a", 50);
    q.addAfter("a", 200);
    clock.advance(49);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(q.len()).toBe(1);
    clock.advance(1000);
    expect(q.len()).toBe(1);
    q.addAfter("b", 0);
    expect(q.len()).toBe(2);
  });

  it("addRateLimited backs off per key until forget", () => {
    const clock = new FakeClock();
    const q = newQueue(clock);
    q.addRateLimited("a");
    q.addRateLimited("a");
    expect(q.numRequeues("a")).toBe(2);
    // The second call asked for 20 ms but the pending 10 ms timer is earlier and wins.
    clock.advance(10);
    expect(q.len()).toBe(1);
    q.forget("a");
    expect(q.numRequeues("a")).toBe(0);
  });

  it("shutDown releases waiting workers, drops delayed keys and refuses new ones", async () => {
    const clock = new FakeClock();
    const q = newQueue(clock);
    const waiting = q.get();
    q.addAfter("late", 10);
    q.shutDown();
    expect(await waiting).toBeUndefined();
    expect(clock.pendingTimers()).toBe(0);
    q.add("a");
    expect(await q.get()).toBeUndefined();
    expect(q.isShuttingDown()).toBe(true);
  });

  it("stays correct over many keys (FIFO compaction)", async () => {
    const q = newQueue();
    for (let i = 0; i < 5000; i++) q.add(`k${i}`);
    for (let i = 0; i < 5000; i++) {
      const k = await q.get();
      expect(k).toBe(`k${i}`);
      q.done(k!);
    }
    expect(q.len()).toBe(0);
  });
});
