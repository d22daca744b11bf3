/**
 * Scheduler metrics: how long one attempt took and what it decided, how long a pod waited from
 * entering the queue to being bound, and how many pods wait in each queue area (read at scrape).
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export type AttemptResult = "scheduled" | "unschedulable" | "error";

export interface SchedulerMetrics {
  attemptSeconds: Histogram<"result">;
  attempts: Counter<"result">;
  podSchedulingSeconds: Histogram;
}

export type PendingSource = () => { active: number; backoff: number; unschedulable: number };

interface Registered {
  metrics: SchedulerMetrics;
  setPending(source: PendingSource): void;
}

const byRegistry = new WeakMap<Registry, Registered>();

/**
 * The metrics in `registry`, created on first use: a scheduler made for a new leadership term
 * reuses them (prom-client refuses a second metric of the same name) and takes over the
 * pending-pods gauge with its own queue.
 */
export function schedulerMetrics(registry: Registry, pending: PendingSource): SchedulerMetrics {
  let registered = byRegistry.get(registry);
  if (!registered) {
    registered = register(registry);
    byRegistry.set(registry, registered);
  }
  registered.setPending(pending);
  return registered.metrics;
}

function register(registry: Registry): Registered {
  let pending: PendingSource = () => ({ active: 0, backoff: 0, unschedulable: 0 });
  new Gauge({
    name: "kctl_scheduler_pending_pods",
    help: "Pods waiting to be scheduled, by queue area (active, backoff, unschedulable).",
    labelNames: ["queue"],
    registers: [registry],
    collect() {
      for (const [queue, n] of Object.entries(pending())) this.set({ queue }, n);
    },
  });
  const metrics: SchedulerMetrics = {
    attemptSeconds: new Histogram({
      name: "kctl_scheduler_scheduling_attempt_duration_seconds",
      help: "Time to decide one pod (filter and score), by result.",
      labelNames: ["result"],
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
      registers: [registry],
    }),
    attempts: new Counter({
      name: "kctl_scheduler_schedule_attempts_total",
      help: "Scheduling attempts by result (scheduled, unschedulable, error).",
      labelNames: ["result"],
      registers: [registry],
    }),
    podSchedulingSeconds: new Histogram({
      name: "kctl_scheduler_pod_scheduling_duration_seconds",
      help: "Time from a pod entering the scheduling queue to its binding succeeding.",
      buckets: [0.001, 0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
  };
  return {
    metrics,
    setPending: (source) => {
      pending = source;
    },
  };
}
