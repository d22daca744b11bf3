/**
 * How long a key waits before it is retried: per-key exponential backoff on failures combined with an
 * overall token bucket (client-go's DefaultControllerRateLimiter). Time comes from an injected Clock.
 */
import type { Clock } from "../../foundation/util/clock.js";

export interface RateLimiter {
  /** Delay in ms before `key` may be processed again; counts as one more failure for `key`. */
  when(key: string): number;
  /** Clears the failure history of `key` (call after a successful sync). */
  forget(key: string): void;
  /** Failures recorded for `key` since the last `forget`. */
  numRequeues(key: string): number;
}

export interface ExponentialOptions {
  /** First delay; default 5 ms. */
  baseMs?: number;
  /** Delay ceiling; default 1000 s. */
  maxMs?: number;
}

/** base * 2^failures, capped: 5 ms, 10 ms, 20 ms, ... 1000 s with the defaults. */
export class ItemExponentialRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>();
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(opts: ExponentialOptions = {}) {
    this.baseMs = opts.baseMs ?? 5;
    this.maxMs = opts.maxMs ?? 1_000_000;
    if (!(this.baseMs > 0) || !(this.maxMs >= this.baseMs)) {
      throw new RangeError(
        `exponential rate limiter: need 0 < baseMs <= maxMs, got ${this.baseMs}, ${this.maxMs}`,
      );
    }
  }

  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    // 2^n overflows to Infinity past n≈1023; min() keeps the cap meaningful either way.
    return Math.min(this.baseMs * 2 ** n, this.maxMs);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

export interface BucketOptions {
  /** Sustained rate; default 10 per second. */
  qps?: number;
  /** Tokens available at once; default 100. */
  burst?: number;
}

/**
 * A token bucket shared by all keys: each `when` reserves one token and returns how long until that
 * token exists (0 while the burst lasts). With qps=10, burst=100: the 101st call in one instant waits 100 ms.
 */
export class BucketRateLimiter implements RateLimiter {
  private tokens: number;
  private last: number;
  private readonly qps: number;
  private readonly burst: number;

  constructor(
    private readonly clock: Clock,
    opts: BucketOptions = {},
  ) {
    this.qps = opts.qps ?? 10;
    this.burst = opts.burst ?? 100;
    if (!(this.qps > 0) || !(this.burst >= 1)) {
      throw new RangeError(
        `bucket rate limiter: need qps > 0 and burst >= 1, got ${this.qps}, ${this.burst}`,
      );
    }
    this.tokens = this.burst;
    this.last = clock.now();
  }

  when(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.qps;
  }

  forget(): void {}

  numRequeues(): number {
    return 0;
  }
}

/** The longest delay of several limiters; every limiter sees every call. */
export class MaxOfRateLimiter implements RateLimiter {
  private readonly limiters: readonly RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }

  when(key: string): number {
    let delay = 0;
    for (const l of this.limiters) delay = Math.max(delay, l.when(key));
    return delay;
  }

  forget(key: string): void {
    for (const l of this.limiters) l.forget(key);
  }

  numRequeues(key: string): number {
    let n = 0;
    for (const l of this.limiters) n = Math.max(n, l.numRequeues(key));
    return n;
  }
}

/** Per-key 5 ms → 1000 s backoff, and at most 10 retries/s overall with a burst of 100. */
export function defaultControllerRateLimiter(
  clock: Clock,
  opts: { exponential?: ExponentialOptions; bucket?: BucketOptions } = {},
): RateLimiter {
  return new MaxOfRateLimiter(
    new ItemExponentialRateLimiter(opts.exponential),
    new BucketRateLimiter(clock, opts.bucket),
  );
}
