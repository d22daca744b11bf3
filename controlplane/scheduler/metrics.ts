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

export function schedulerMetrics(
  registry: Registry,
  pending: () => { active: number; backoff: number; unschedulable: number },
): SchedulerMetrics {
  new Gauge({
    name: "kctl_scheduler_pending_pods",
    help: "Pods waiting to be scheduled, by queue area (active, backoff, unschedulable).",
    labelNames: ["queue"],
    registers: [registry],
    collect() {
      for (const [queue, n] of Object.entries(pending())) this.set({ queue }, n);
    },
  });
  return {
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
}
