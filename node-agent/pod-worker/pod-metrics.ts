/**
 * Prometheus metrics of the pod workers, in a registry the agent injects: pod start latency (from
 * the agent receiving the pod to Running and to Ready), container starts and restarts, probe
 * results, and the duration of one worker sync. One set per registry, because prom-client refuses a
 * second metric of the same name in a registry.
 */
import { Counter, Histogram, type Registry } from "prom-client";
import { tracer } from "../../foundation/util/trace.js";
import type { PodStatus } from "../../proto/gen/api.js";

const trace = tracer("pod-start");

export interface PodMetrics {
  startSeconds: Histogram<"to">;
  startStageSeconds: Histogram<"stage">;
  containerStarts: Counter<"kind">;
  containerRestarts: Counter;
  probeResults: Counter<"probe" | "result">;
  syncSeconds: Histogram;
}

const byRegistry = new WeakMap<Registry, PodMetrics>();

export function podMetrics(registry: Registry): PodMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const metrics: PodMetrics = {
    startSeconds: new Histogram({
      name: "kctl_pod_start_duration_seconds",
      help: "Time from the agent receiving a pod to the pod Running (to=running) and Ready (to=ready).",
      labelNames: ["to"],
      buckets: [0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10, 30],
      registers: [registry],
    }),
    startStageSeconds: new Histogram({
      name: "kctl_pod_start_stage_duration_seconds",
      help: "Time a pod's start spent in each stage (a hook's stage as <stage>/<hook>, create-wait and create for the runtime, report for status reports), observed once per pod when it first reports Running.",
      labelNames: ["stage"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: [registry],
    }),
    containerStarts: new Counter({
      name: "kctl_container_starts_total",
      help: "Containers started, by kind (init or regular).",
      labelNames: ["kind"],
      registers: [registry],
    }),
    containerRestarts: new Counter({
      name: "kctl_container_restarts_total",
      help: "Containers started again after they exited or failed a liveness probe.",
      registers: [registry],
    }),
    probeResults: new Counter({
      name: "kctl_probe_results_total",
      help: "Probe runs by probe (startup, readiness, liveness) and result (success, failure).",
      labelNames: ["probe", "result"],
      registers: [registry],
    }),
    syncSeconds: new Histogram({
      name: "kctl_pod_worker_sync_duration_seconds",
      help: "Time one pod worker sync took.",
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
      registers: [registry],
    }),
  };
  byRegistry.set(registry, metrics);
  return metrics;
}

/** How long one pod took from reaching the agent to Running, and to Ready: each observed once. */
export class StartLatency {
  private running: number | undefined;
  private ready: number | undefined;

  constructor(
    receivedAt: number,
    private readonly metrics: PodMetrics | undefined,
  ) {
    this.running = receivedAt;
    this.ready = receivedAt;
  }

  observe(status: PodStatus, now: number): void {
    if (this.running !== undefined && status.phase === "Running") {
      this.metrics?.startSeconds.observe({ to: "running" }, (now - this.running) / 1000);
      this.running = undefined;
    }
    if (
      this.ready !== undefined &&
      status.conditions?.some((c) => c.type === "Ready" && c.status === "True")
    ) {
      this.metrics?.startSeconds.observe({ to: "ready" }, (now - this.ready) / 1000);
      this.ready = undefined;
    }
  }
}

/**
 * Where one pod's start went, stage by stage: what the worker awaited in each hook, the runtime and
 * the status reports, from the agent receiving the pod until its first Running status is reported.
 * Time in no stage (waiting for the event loop, the worker's own code) is the start latency minus
 * their sum. Each stage is observed once, as the pod's total in it, so a restart before Running
 * adds to its stages rather than counting as another pod.
 */
export class StartStages {
  /** Each stage's total so far; undefined once the start is reported, or with no metrics to feed. */
  private spent: Map<string, number> | undefined;
  private readonly began: number;

  constructor(
    private readonly metrics: PodMetrics | undefined,
    /** Names the pod in the `pod-start` trace (KCTL_TRACE=pod-start), which gives each pod's stages. */
    private readonly pod = "",
    private readonly now: () => number = () => performance.now(),
  ) {
    this.spent = metrics ? new Map() : undefined;
    this.began = metrics ? now() : 0;
  }

  /** Runs `work`, counting its time to `stage` while the start is under way. */
  async time<T>(stage: string, work: () => Promise<T>): Promise<T> {
    if (!this.spent) return work();
    const began = this.now();
    try {
      return await work();
    } finally {
      this.add(stage, this.now() - began);
    }
  }

  add(stage: string, ms: number): void {
    this.spent?.set(stage, (this.spent.get(stage) ?? 0) + ms);
  }

  /** The first Running status was reported: each stage's total is observed and timing ends. */
  close(): void {
    if (!this.spent || !this.metrics) return;
    for (const [stage, ms] of this.spent) this.metrics.startStageSeconds.observe({ stage }, ms / 1000);
    const ms = (x: number) => Math.round(x * 10) / 10;
    trace("stages", this.pod, {
      total: ms(this.now() - this.began),
      ...Object.fromEntries([...this.spent].map(([stage, x]) => [stage, ms(x)])),
    });
    this.spent = undefined;
  }
}
