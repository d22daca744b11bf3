/**
 * The scheduler loop. It learns about Pods and Nodes from informers, keeps pending pods in the
 * scheduling queue and placed pods in its cache, and for each popped pod either assumes it onto the
 * chosen node and binds it asynchronously, or reports why it is unschedulable and parks it until
 * the cluster changes. It talks to the world only through `SchedulerBackend`, which the integrator
 * wires to the registry (bind = the `binding` subresource, setCondition = a `/status` write).
 */
import { Registry } from "prom-client";
import { isApiError } from "../../foundation/api/errors.js";
import { objectKey } from "../../foundation/api/object.js";
import type { DeepReadonly } from "../../foundation/api/readonly.js";
import { type Clock, realClock, type Timer } from "../../foundation/util/clock.js";
import { tracer } from "../../foundation/util/trace.js";
import type { Node, Pod, PodCondition } from "../../proto/gen/api.js";
import type { Informer } from "../client/informer.js";
import { SchedulingAlgorithm } from "./algorithm.js";
import { SchedulerCache } from "./cache.js";
import { defaultFilters, type Filter } from "./filters/index.js";
import { FitError } from "./fit-error.js";
import { type AttemptResult, type SchedulerMetrics, schedulerMetrics } from "./metrics.js";
import {
  defaultSchedulerName,
  InvalidPodError,
  isTerminal,
  type PodInfo,
  podInfo,
  wantsScheduler,
} from "./pod-info.js";
import { type QueuedPod, SchedulingQueue } from "./queue.js";
import { defaultScores, type Score } from "./scores.js";

const trace = tracer("scheduler");

/** The part of the client package's `Informer` the scheduler uses; unit tests fake only this. */
export type InformerSource<T> = Pick<Informer<T>, "addEventHandler" | "waitForSync">;

export interface SchedulerEvent {
  pod: DeepReadonly<Pod>;
  type: "Normal" | "Warning";
  reason: "Scheduled" | "FailedScheduling";
  message: string;
}

/** The scheduler's only connection to the API. */
export interface SchedulerBackend {
  pods: InformerSource<Pod>;
  nodes: InformerSource<Node>;
  /**
   * Binds the pod (POST .../pods/{name}/binding with target Node `nodeName`). Rejects with
   * ApiError NotFound when the pod is gone, Conflict when it is already bound.
   */
  bind(pod: DeepReadonly<Pod>, nodeName: string): Promise<void>;
  /** Sets (adds or replaces by type) one condition in the pod's status via the status subresource. */
  setCondition(pod: DeepReadonly<Pod>, condition: PodCondition): Promise<void>;
  /** Records an Event about the pod; fire-and-forget. */
  recordEvent(event: SchedulerEvent): void;
}

export interface SchedulerOptions {
  backend: SchedulerBackend;
  /** Pods whose spec.schedulerName is this (or empty) are ours. Default "default-scheduler". */
  schedulerName?: string;
  clock?: Clock;
  /** Tie-break randomness in [0, 1). Default Math.random. */
  random?: () => number;
  registry?: Registry;
  /** See algorithm.ts; 0 (default) is kube-scheduler's adaptive share. */
  percentageOfNodesToScore?: number;
  filters?: readonly Filter[];
  scores?: readonly Score[];
  /** Bindings in flight at once before the loop waits. Default 500. */
  maxInFlightBinds?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  maxParkedMs?: number;
  /** How long a bound-but-unconfirmed assumed pod is kept. Default 30 s. */
  assumedTtlMs?: number;
}

export class Scheduler {
  readonly queue: SchedulingQueue;
  readonly cache: SchedulerCache;
  private readonly backend: SchedulerBackend;
  private readonly schedulerName: string;
  private readonly clock: Clock;
  private readonly algorithm: SchedulingAlgorithm;
  private readonly metrics: SchedulerMetrics;
  private readonly maxInFlight: number;
  private inFlight = 0;
  private slotFreed: (() => void) | undefined;
  /** Last unschedulable message written per pod, so repeated identical verdicts are not rewritten. */
  private readonly reported = new Map<string, string>();

  constructor(opts: SchedulerOptions) {
    this.backend = opts.backend;
    this.schedulerName = opts.schedulerName ?? defaultSchedulerName;
    this.clock = opts.clock ?? realClock;
    this.maxInFlight = opts.maxInFlightBinds ?? 500;
    this.cache = new SchedulerCache(this.clock, opts.assumedTtlMs);
    this.queue = new SchedulingQueue({
      clock: this.clock,
      ...(opts.initialBackoffMs !== undefined && { initialBackoffMs: opts.initialBackoffMs }),
      ...(opts.maxBackoffMs !== undefined && { maxBackoffMs: opts.maxBackoffMs }),
      ...(opts.maxParkedMs !== undefined && { maxParkedMs: opts.maxParkedMs }),
    });
    this.algorithm = new SchedulingAlgorithm({
      filters: opts.filters ?? defaultFilters,
      scores: opts.scores ?? defaultScores,
      random: opts.random ?? Math.random,
      percentageOfNodesToScore: opts.percentageOfNodesToScore ?? 0,
    });
    this.metrics = schedulerMetrics(opts.registry ?? new Registry(), () => this.queue.lengths());
  }

  /**
   * Subscribes to the informers, waits for them to sync, then schedules until `signal` aborts.
   * Resolves once the loop has stopped (bindings already sent may still complete afterwards).
   * A Scheduler runs once; make a new one to run again (e.g. after regaining leadership).
   */
  async run(signal: AbortSignal): Promise<void> {
    const unsubscribe = [
      this.backend.nodes.addEventHandler({
        onAdd: (node) => this.onNode(node),
        onUpdate: (_old, node) => this.onNode(node),
        onDelete: (node) => this.cache.removeNode(node.metadata.name ?? ""),
      }),
      this.backend.pods.addEventHandler({
        onAdd: (pod) => this.onPod(undefined, pod),
        onUpdate: (old, pod) => this.onPod(old, pod),
        onDelete: (pod) => this.onPodDeleted(pod),
      }),
    ];
    const stop = (): void => {
      this.queue.close();
      this.slotFreed?.();
    };
    signal.addEventListener("abort", stop, { once: true });
    let expiry: Timer | undefined;
    const expire = (): void => {
      if (this.cache.expireAssumed().length > 0) this.queue.moveAllToActiveOrBackoff();
      expiry = this.clock.setTimer(1000, expire);
    };
    try {
      await Promise.all([this.backend.nodes.waitForSync(), this.backend.pods.waitForSync()]);
      if (signal.aborted) return;
      expire();
      await this.loop();
    } finally {
      expiry?.cancel();
      signal.removeEventListener("abort", stop);
      this.queue.close();
      for (const off of unsubscribe) off();
    }
  }

  private async loop(): Promise<void> {
    let lastYield = performance.now();
    for (;;) {
      if (this.inFlight >= this.maxInFlight) {
        await new Promise<void>((resolve) => {
          this.slotFreed = resolve;
        });
      }
      const qp = await this.queue.pop();
      if (!qp) return;
      this.scheduleOne(qp);
      // A full queue resolves pop() without ever leaving the microtask queue; let I/O (binding
      // responses, watch events) run every few milliseconds.
      if (performance.now() - lastYield > 5) {
        await new Promise((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
    }
  }

  /** One attempt for one popped pod. Synchronous: the binding it starts completes later. */
  private scheduleOne(qp: QueuedPod): void {
    const info = qp.info;
    if (this.cache.isPlaced(info.key)) {
      this.queue.done(info.key);
      return;
    }
    const cycle = this.queue.schedulingCycle;
    const start = performance.now();
    let nodeName: string;
    try {
      nodeName = this.algorithm.schedule(info, this.cache).nodeName;
    } catch (err) {
      const result = err instanceof FitError ? "unschedulable" : "error";
      this.observeAttempt(result, start);
      if (err instanceof FitError) {
        trace(`${info.key}: ${err.message}`);
        this.queue.requeueUnschedulable(info.key, cycle);
        this.reportUnschedulable(info, err.message);
      } else {
        trace(`${info.key}: scheduling failed: ${(err as Error).stack ?? err}`);
        this.queue.requeueAfterError(info.key);
      }
      return;
    }
    this.observeAttempt("scheduled", start);
    this.cache.assume(info, nodeName);
    this.bind(qp, nodeName);
  }

  private bind(qp: QueuedPod, nodeName: string): void {
    const { key, pod } = qp.info;
    this.inFlight++;
    this.backend
      .bind(pod, nodeName)
      .then(
        () => {
          this.cache.finishBinding(key);
          this.queue.done(key);
          this.reported.delete(key);
          this.metrics.podSchedulingSeconds.observe((this.clock.now() - qp.firstQueuedAt) / 1000);
          this.backend.recordEvent({
            pod,
            type: "Normal",
            reason: "Scheduled",
            message: `Successfully assigned ${key} to ${nodeName}`,
          });
        },
        (err: unknown) => {
          this.cache.forget(key);
          if (isApiError(err, "NotFound") || isApiError(err, "Conflict")) {
            // Deleted, or bound elsewhere: the informer will tell the cache what really happened.
            this.queue.delete(key);
          } else {
            trace(`${key}: binding to ${nodeName} failed: ${String(err)}`);
            this.queue.requeueAfterError(key);
          }
          this.queue.moveAllToActiveOrBackoff();
        },
      )
      .finally(() => {
        this.inFlight--;
        const wake = this.slotFreed;
        this.slotFreed = undefined;
        wake?.();
      });
  }

  private reportUnschedulable(info: PodInfo, message: string): void {
    if (this.reported.get(info.key) === message) return;
    this.reported.set(info.key, message);
    // Already recorded on the pod (e.g. by a previous leader): do not write it again.
    const current = info.pod.status?.conditions?.find((c) => c.type === "PodScheduled");
    if (current?.status === "False" && current.reason === "Unschedulable" && current.message === message)
      return;
    this.backend.recordEvent({ pod: info.pod, type: "Warning", reason: "FailedScheduling", message });
    const condition: PodCondition = {
      type: "PodScheduled",
      status: "False",
      reason: "Unschedulable",
      message,
      lastTransitionTime: new Date(this.clock.now()).toISOString(),
    };
    this.backend
      .setCondition(info.pod, condition)
      .catch((err: unknown) => trace(`${info.key}: setting PodScheduled=False failed: ${String(err)}`));
  }

  private observeAttempt(result: AttemptResult, start: number): void {
    this.metrics.attempts.inc({ result });
    this.metrics.attemptSeconds.observe({ result }, (performance.now() - start) / 1000);
  }

  private onNode(node: DeepReadonly<Node>): void {
    if (this.cache.setNode(node)) this.queue.moveAllToActiveOrBackoff();
  }

  private onPod(old: DeepReadonly<Pod> | undefined, pod: DeepReadonly<Pod>): void {
    const key = objectKey(pod);
    const nodeName = pod.spec?.nodeName;
    if (nodeName) {
      this.queue.delete(key);
      this.reported.delete(key);
      if (isTerminal(pod)) {
        if (this.cache.isPlaced(key)) {
          this.cache.removePod(key);
          this.queue.moveAllToActiveOrBackoff();
        }
        return;
      }
      const info = this.podInfoOrReport(pod);
      if (!info) return;
      this.cache.addBoundPod(info, nodeName);
      // New labels on a placed pod can lift anti-affinity for parked pods.
      if (
        old?.spec?.nodeName &&
        JSON.stringify(old.metadata.labels) !== JSON.stringify(pod.metadata.labels)
      ) {
        this.queue.moveAllToActiveOrBackoff();
      }
      return;
    }
    // Our own binding is in flight and the watch has not caught up: nothing to do.
    if (this.cache.isAssumed(key)) return;
    if (!wantsScheduler(pod, this.schedulerName) || isTerminal(pod) || pod.metadata.deletionTimestamp) {
      this.queue.delete(key);
      return;
    }
    const info = this.podInfoOrReport(pod);
    if (info) this.queue.add(info);
  }

  private onPodDeleted(pod: DeepReadonly<Pod>): void {
    const key = objectKey(pod);
    this.queue.delete(key);
    this.reported.delete(key);
    if (this.cache.isPlaced(key)) {
      this.cache.removePod(key);
      this.queue.moveAllToActiveOrBackoff();
    }
  }

  private podInfoOrReport(pod: DeepReadonly<Pod>): PodInfo | undefined {
    try {
      return podInfo(pod);
    } catch (err) {
      if (!(err instanceof InvalidPodError)) throw err;
      const key = objectKey(pod);
      trace(`${key}: ${err.message}`);
      this.queue.delete(key);
      if (!pod.spec?.nodeName) {
        this.backend.recordEvent({ pod, type: "Warning", reason: "FailedScheduling", message: err.message });
      }
      return undefined;
    }
  }
}
