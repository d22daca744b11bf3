/**
 * The scheduling queue, after kube-scheduler's: an active heap ordered by priority (higher first)
 * then arrival (FIFO); a backoff area for pods that failed recently (1 s doubling per attempt up to
 * 10 s); and a parking lot of unschedulable pods that only a cluster change (a node added or
 * changed, a pod removed) or a periodic flush (after `maxParkedMs`) sends back to be retried.
 */

import type { DeepReadonly } from "../../foundation/api/readonly.js";
import type { Clock, Timer } from "../../foundation/util/clock.js";
import type { Pod } from "../../proto/gen/api.js";
import type { PodInfo } from "./pod-info.js";

export interface QueuedPod {
  info: PodInfo;
  /** Scheduling attempts so far. */
  attempts: number;
  /** When the pod first entered the queue (for the end-to-end latency metric). */
  firstQueuedAt: number;
  /** When the last attempt failed; its backoff runs from here. */
  lastFailureAt: number;
  /** When the pod was parked (for the periodic flush). */
  parkedAt: number;
  /** Arrival order; the FIFO tie-break within a priority. */
  seq: number;
  /** Position in the active heap, or -1. */
  heapIndex: number;
  where: "active" | "backoff" | "parked" | "popped";
}

export interface QueueOptions {
  clock: Clock;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** A parked pod is retried after this long even without a cluster change. Default 60 s. */
  maxParkedMs?: number;
}

export class SchedulingQueue {
  private readonly clock: Clock;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxParkedMs: number;
  private readonly heap: QueuedPod[] = [];
  private readonly pods = new Map<string, QueuedPod>();
  private readonly backoff = new Map<string, { qp: QueuedPod; timer: Timer }>();
  private readonly parked = new Map<string, QueuedPod>();
  private readonly waiters: ((qp: QueuedPod | undefined) => void)[] = [];
  private seq = 0;
  private closed = false;
  private flushTimer: Timer | undefined;
  /** Incremented per pop; a pod that failed in a cycle older than the last move is not parked. */
  private cycle = 0;
  private moveRequestCycle = -1;

  constructor(opts: QueueOptions) {
    this.clock = opts.clock;
    this.initialBackoffMs = opts.initialBackoffMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.maxParkedMs = opts.maxParkedMs ?? 60_000;
    this.scheduleFlush();
  }

  /** The current scheduling cycle; pass it back to `requeueUnschedulable`. */
  get schedulingCycle(): number {
    return this.cycle;
  }

  /** A new pending pod, or a new version of one already queued (it keeps its place and backoff). */
  add(info: PodInfo): void {
    if (this.closed) return;
    const existing = this.pods.get(info.key);
    if (existing) {
      this.update(existing, info);
      return;
    }
    const now = this.clock.now();
    const qp: QueuedPod = {
      info,
      attempts: 0,
      firstQueuedAt: now,
      lastFailureAt: now,
      parkedAt: now,
      seq: this.seq++,
      heapIndex: -1,
      where: "active",
    };
    this.pods.set(info.key, qp);
    this.pushActive(qp);
  }

  /** Forgets a pod (deleted, or bound by someone). */
  delete(key: string): void {
    const qp = this.pods.get(key);
    if (!qp) return;
    this.pods.delete(key);
    this.detach(qp);
  }

  has(key: string): boolean {
    return this.pods.has(key);
  }

  /** The next pod to schedule, waiting for one; undefined once closed. */
  pop(): Promise<QueuedPod | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const qp = this.popActive();
    if (qp) return Promise.resolve(qp);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The popped pod was placed (or dropped): it leaves the queue. */
  done(key: string): void {
    const qp = this.pods.get(key);
    if (qp?.where === "popped") this.pods.delete(key);
  }

  /**
   * The popped pod found no node in cycle `cycle`. It is parked until the cluster changes, unless a
   * change already happened while it was being scheduled: then it only waits out its backoff.
   */
  requeueUnschedulable(key: string, cycle: number): void {
    const qp = this.pods.get(key);
    if (qp?.where !== "popped" || this.closed) return;
    qp.lastFailureAt = this.clock.now();
    if (this.moveRequestCycle >= cycle) {
      this.toBackoffOrActive(qp);
      return;
    }
    qp.where = "parked";
    qp.parkedAt = qp.lastFailureAt;
    this.parked.set(key, qp);
  }

  /** The popped pod hit an error (e.g. its binding failed): retry after its backoff. */
  requeueAfterError(key: string): void {
    const qp = this.pods.get(key);
    if (qp?.where !== "popped" || this.closed) return;
    qp.lastFailureAt = this.clock.now();
    this.toBackoffOrActive(qp);
  }

  /** Something changed that may let parked pods fit: send them all back (after their backoff). */
  moveAllToActiveOrBackoff(): void {
    this.moveRequestCycle = this.cycle;
    if (this.parked.size === 0) return;
    const parked = [...this.parked.values()];
    this.parked.clear();
    for (const qp of parked) this.toBackoffOrActive(qp);
  }

  /** Depth by area, for the pending-pods metric. */
  lengths(): { active: number; backoff: number; unschedulable: number } {
    return { active: this.heap.length, backoff: this.backoff.size, unschedulable: this.parked.size };
  }

  close(): void {
    this.closed = true;
    this.flushTimer?.cancel();
    for (const { timer } of this.backoff.values()) timer.cancel();
    this.backoff.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  private update(qp: QueuedPod, info: PodInfo): void {
    const changed = schedulingInputsChanged(qp.info.pod, info.pod);
    qp.info = info;
    // A parked pod whose spec or labels changed may fit now; status-only updates change nothing.
    if (qp.where === "parked" && changed) {
      this.parked.delete(info.key);
      this.toBackoffOrActive(qp);
    }
  }

  private toBackoffOrActive(qp: QueuedPod): void {
    const wait = qp.lastFailureAt + this.backoffMs(qp.attempts) - this.clock.now();
    if (wait <= 0) {
      this.pushActive(qp);
      return;
    }
    qp.where = "backoff";
    const timer = this.clock.setTimer(wait, () => {
      this.backoff.delete(qp.info.key);
      this.pushActive(qp);
    });
    this.backoff.set(qp.info.key, { qp, timer });
  }

  /** 1 s, 2 s, 4 s, 8 s, 10 s, 10 s, ... after attempts 1, 2, 3, ... */
  private backoffMs(attempts: number): number {
    if (attempts <= 0) return 0;
    return Math.min(this.initialBackoffMs * 2 ** (attempts - 1), this.maxBackoffMs);
  }

  private scheduleFlush(): void {
    const period = Math.min(30_000, this.maxParkedMs);
    this.flushTimer = this.clock.setTimer(period, () => {
      const now = this.clock.now();
      for (const [key, qp] of this.parked) {
        if (now - qp.parkedAt < this.maxParkedMs) continue;
        this.parked.delete(key);
        this.toBackoffOrActive(qp);
      }
      if (!this.closed) this.scheduleFlush();
    });
  }

  private detach(qp: QueuedPod): void {
    if (qp.where === "active") this.removeAt(qp.heapIndex);
    else if (qp.where === "parked") this.parked.delete(qp.info.key);
    else if (qp.where === "backoff") {
      this.backoff.get(qp.info.key)?.timer.cancel();
      this.backoff.delete(qp.info.key);
    }
  }

  private pushActive(qp: QueuedPod): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      this.markPopped(qp);
      waiter(qp);
      return;
    }
    qp.where = "active";
    qp.heapIndex = this.heap.length;
    this.heap.push(qp);
    this.up(qp.heapIndex);
  }

  private popActive(): QueuedPod | undefined {
    if (this.heap.length === 0) return undefined;
    const top = this.heap[0]!;
    this.removeAt(0);
    this.markPopped(top);
    return top;
  }

  private markPopped(qp: QueuedPod): void {
    qp.where = "popped";
    qp.heapIndex = -1;
    qp.attempts++;
    this.cycle++;
  }

  // ---- binary heap: higher priority first, then lower seq (earlier arrival) ----

  private before(a: QueuedPod, b: QueuedPod): boolean {
    return a.info.priority !== b.info.priority ? a.info.priority > b.info.priority : a.seq < b.seq;
  }

  private removeAt(i: number): void {
    const last = this.heap.pop()!;
    if (i < this.heap.length) {
      this.heap[i] = last;
      last.heapIndex = i;
      this.down(i);
      this.up(last.heapIndex);
    }
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(h[i]!, h[parent]!)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < h.length && this.before(h[l]!, h[best]!)) best = l;
      if (r < h.length && this.before(h[r]!, h[best]!)) best = r;
      if (best === i) return;
      this.swap(i, best);
      i = best;
    }
  }

  private swap(i: number, j: number): void {
    const h = this.heap;
    const a = h[i]!;
    const b = h[j]!;
    h[i] = b;
    h[j] = a;
    a.heapIndex = j;
    b.heapIndex = i;
  }
}

/** Spec or labels differ; compared by value because every watch event decodes fresh objects. */
function schedulingInputsChanged(a: DeepReadonly<Pod>, b: DeepReadonly<Pod>): boolean {
  return (
    JSON.stringify(a.spec) !== JSON.stringify(b.spec) ||
    JSON.stringify(a.metadata.labels) !== JSON.stringify(b.metadata.labels)
  );
}
