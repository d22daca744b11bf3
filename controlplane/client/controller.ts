/**
 * Runs one controller: N workers take keys from its work queue and call its single `sync(key)`. A
 * throw requeues the key with rate-limited backoff; a success forgets the key's backoff. Workers
 * start only after the given informers have synced, so `sync` never sees a half-filled cache.
 */
import { Registry } from "prom-client";
import { type Clock, realClock } from "../../foundation/util/clock.js";
import { tracer } from "../../foundation/util/trace.js";
import { type ControllerMetrics, controllerMetrics } from "./controller-metrics.js";
import type { RateLimiter } from "./rate-limiter.js";
import { WorkQueue } from "./work-queue.js";

const trace = tracer("controller");

export interface ControllerOptions {
  /** Metric label and trace prefix, e.g. "replicaset". */
  name: string;
  /** Reconciles one key; must be idempotent. Throw to retry later with backoff. */
  sync(key: string): Promise<void>;
  /** Concurrent workers; default 1. A key is never synced by two workers at once. */
  workers?: number;
  clock?: Clock;
  rateLimiter?: RateLimiter;
  /** Where metrics go; a private registry when omitted (never prom-client's global one). */
  registry?: Registry;
  /** Called with the error each time sync throws (after tracing); for tests and logs. */
  onError?(key: string, err: unknown): void;
}

export interface Syncable {
  waitForSync(): Promise<void>;
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly opts: ControllerOptions;
  private readonly clock: Clock;
  private readonly metrics: ControllerMetrics;

  constructor(opts: ControllerOptions) {
    const workers = opts.workers ?? 1;
    if (!Number.isInteger(workers) || workers < 1) {
      throw new RangeError(`controller ${opts.name}: workers must be a positive integer, got ${workers}`);
    }
    this.name = opts.name;
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
    this.queue = new WorkQueue(
      opts.rateLimiter ? { clock: this.clock, rateLimiter: opts.rateLimiter } : { clock: this.clock },
    );
    this.metrics = controllerMetrics(opts.registry ?? new Registry());
  }

  /** Queues `key` for a sync; event handlers call only this. */
  enqueue(key: string): void {
    this.queue.add(key);
  }

  /**
   * Waits for `caches` to sync, then runs workers until `signal` aborts; resolves once every worker
   * has finished its current key. The queue is shut down on return, so a Controller runs once.
   */
  async run(signal: AbortSignal, caches: readonly Syncable[] = []): Promise<void> {
    const stop = (): void => this.queue.shutDown();
    if (signal.aborted) return stop();
    signal.addEventListener("abort", stop, { once: true });
    this.metrics.watchQueue(this.name, this.queue);
    try {
      await Promise.race([
        Promise.all(caches.map((c) => c.waitForSync())),
        new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true })),
      ]);
      if (signal.aborted) return;
      trace(`${this.name}: caches synced, starting ${this.opts.workers ?? 1} workers`);
      const workers = Array.from({ length: this.opts.workers ?? 1 }, () => this.worker());
      await Promise.all(workers);
    } finally {
      signal.removeEventListener("abort", stop);
      this.queue.shutDown();
      this.metrics.unwatchQueue(this.name);
    }
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      await this.processOne(key);
    }
  }

  /** Syncs one key, exposed for fixture tests that drive a controller without workers. */
  async processOne(key: string): Promise<void> {
    const start = performance.now();
    try {
      await this.opts.sync(key);
      this.queue.forget(key);
      this.metrics.reconcileTotal.inc({ controller: this.name, result: "success" });
    } catch (err) {
      this.metrics.reconcileTotal.inc({ controller: this.name, result: "error" });
      trace(`${this.name}: sync ${key} failed (retry ${this.queue.numRequeues(key) + 1}): ${String(err)}`);
      this.opts.onError?.(key, err);
      this.queue.addRateLimited(key);
    } finally {
      this.metrics.reconcileSeconds.observe({ controller: this.name }, (performance.now() - start) / 1000);
      this.queue.done(key);
    }
  }
}
