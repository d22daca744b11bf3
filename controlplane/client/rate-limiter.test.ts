import { describe, expect, it } from "vitest";
import { FakeClock } from "../../foundation/util/clock.js";
import {
  BucketRateLimiter,
  defaultControllerRateLimiter,
  ItemExponentialRateLimiter,
  MaxOfRateLimiter,
} from "./rate-limiter.js";

describe("ItemExponentialRateLimiter", () => {
  it("doubles per key from the base up to the cap, and forget resets", () => {
    const rl = new ItemExponentialRateLimiter({ baseMs: 5, maxMs: 100 });
    expect([1, 2, 3, 4, 5, 6].map(() => rl.when("a"))).toEqual([5, 10, 20, 40, 80, 100]);
    expect(rl.when("b")).toBe(5);
    expect(rl.numRequeues("a")).toBe(6);
    rl.forget("a");
    expect(rl.numRequeues("a")).toBe(0);
    expect(rl.when("a")).toBe(5);
  });

  it("defaults to 5 ms doubling to 1000 s and stays capped for huge failure counts", () => {
    const rl = new ItemExponentialRateLimiter();
    expect(rl.when("k")).toBe(5);
    for (let i = 0; i < 2000; i++) rl.when("k");
    expect(rl.when("k")).toBe(1_000_000);
  });

  it("rejects a nonsense configuration", () => {
    expect(() => new ItemExponentialRateLimiter({ baseMs: 0 })).toThrow(/baseMs/);
    expect(() => new ItemExponentialRateLimiter({ baseMs: 10, maxMs: 5 })).toThrow(/baseMs <= maxMs/);
  });
});

describe("BucketRateLimiter", () => {
  it("lets the burst through, then spaces calls at 1/qps, refilling with time", () => {
    const clock = new FakeClock();
    const rl = new BucketRateLimiter(clock, { qps: 10, burst: 2 });
    expect(rl.when()).toBe(0);
    expect(rl.when()).toBe(0);
    expect(rl.when()).toBeCloseTo(100);
    expect(rl.when()).toBeCloseTo(200);
    clock.advance(1000);
    // 10 tokens accrued against a debt of 2, capped at the burst of 2.
    expect(rl.when()).toBe(0);
  });

  it("rejects qps <= 0", () => {
    expect(() => new BucketRateLimiter(new FakeClock(), { qps: 0 })).toThrow(/qps/);
  });
});

describe("MaxOfRateLimiter", () => {
  it("takes the longest delay and forgets in every limiter", () => {
    const clock = new FakeClock();
    const rl = new MaxOfRateLimiter(
      new ItemExponentialRateLimiter({ baseMs: 5 }),
      new BucketRateLimiter(clock, { qps: 1, burst: 1 }),
    );
    expect(rl.when("a")).toBe(5);
    expect(rl.when("a")).toBeCloseTo(1000);
    rl.forget("a");
    expect(rl.numRequeues("a")).toBe(0);
  });

  it("default controller limiter starts at 5 ms", () => {
    expect(defaultControllerRateLimiter(new FakeClock()).when("x")).toBe(5);
  });
});
