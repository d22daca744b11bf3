import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { FakeClock } from "../../foundation/util/clock.js";
import { Controller } from "./controller.js";
import { ItemExponentialRateLimiter } from "./rate-limiter.js";

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe("Controller", () => {
  it("syncs keys, retries a throwing sync with backoff, forgets on success, and reports metrics", async () => {
    const clock = new FakeClock();
    const registry = new Registry();
    const calls: string[] = [];
    let failuresLeft = 2;
    const c = new Controller({
      name: "demo",
      clock,
      registry,
      rateLimiter: new ItemExponentialRateLimiter({ baseMs: 10 }),
      workers: 2,
      async sync(key) {
        calls.push(key);
        if (key === "bad" && failuresLeft-- > 0) throw new Error("not yet");
      },
    });
    const ac = new AbortController();
    let synced = false;
    const running = c.run(ac.signal, [
      {
        waitForSync: () =>
          new Promise<void>((resolve) =>
            setImmediate(() => {
              synced = true;
              resolve();
            }),
          ),
      },
    ]);
    c.enqueue("ok");
    c.enqueue("bad");
    expect(calls).toEqual([]);
    await flush();
    expect(synced).toBe(true);
    expect(calls).toEqual(["ok", "bad"]);
    expect(c.queue.numRequeues("bad")).toBe(1);
    clock.advance(10);
    await flush();
    expect(c.queue.numRequeues("bad")).toBe(2);
    clock.advance(19);
    await flush();
    expect(calls).toHaveLength(3);
    clock.advance(1);
    await flush();
    expect(calls).toEqual(["ok", "bad", "bad", "bad"]);
    expect(c.queue.numRequeues("bad")).toBe(0);

    const text = await registry.metrics();
    expect(text).toMatch(/kctl_controller_reconcile_total\{controller="demo",result="error"\} 2/);
    expect(text).toMatch(/kctl_controller_reconcile_total\{controller="demo",result="success"\} 2/);
    expect(text).toMatch(/kctl_controller_queue_depth\{controller="demo"\} 0/);
    expect(text).toMatch(/kctl_controller_reconcile_duration_seconds_count\{controller="demo"\} 4/);
    ac.abort();
    await running;
    expect(c.queue.isShuttingDown()).toBe(true);
  });

  it("shares one metric set between controllers on the same registry", () => {
    const registry = new Registry();
    const mk = (name: string) => new Controller({ name, registry, sync: async () => {} });
    expect(() => [mk("a"), mk("b")]).not.toThrow();
  });

  it("rejects a bad worker count", () => {
    expect(() => new Controller({ name: "x", workers: 0, sync: async () => {} })).toThrow(/workers/);
  });
});
