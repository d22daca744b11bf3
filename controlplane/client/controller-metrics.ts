/**
 * Prometheus metrics shared by every controller in one registry: reconcile duration and outcome by
 * controller, and queue depth read from each queue at scrape time. One set per registry, because
 * prom-client refuses a second metric of the same name in a registry.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface QueueDepthSource {
  len(): number;
}

export interface ControllerMetrics {
  reconcileSeconds: Histogram<"controller">;
  reconcileTotal: Counter<"controller" | "result">;
  /** Registers a queue whose length is reported as `kctl_controller_queue_depth{controller}`. */
  watchQueue(controller: string, queue: QueueDepthSource): void;
  unwatchQueue(controller: string): void;
}

const byRegistry = new WeakMap<Registry, ControllerMetrics>();

export function controllerMetrics(registry: Registry): ControllerMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const queues = new Map<string, QueueDepthSource>();
  const metrics: ControllerMetrics = {
    reconcileSeconds: new Histogram({
      name: "kctl_controller_reconcile_duration_seconds",
      help: "Time one sync(key) took, by controller.",
      labelNames: ["controller"],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
      registers: [registry],
    }),
    reconcileTotal: new Counter({
      name: "kctl_controller_reconcile_total",
      help: "sync(key) calls by controller and result (success or error).",
      labelNames: ["controller", "result"],
      registers: [registry],
    }),
    watchQueue: (controller, queue) => void queues.set(controller, queue),
    unwatchQueue: (controller) => void queues.delete(controller),
  };
  new Gauge({
    name: "kctl_controller_queue_depth",
    help: "Keys waiting in a controller's work queue.",
    labelNames: ["controller"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [controller, queue] of queues) this.set({ controller }, queue.len());
    },
  });
  byRegistry.set(registry, metrics);
  return metrics;
}
