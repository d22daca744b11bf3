/**
 * The store's Prometheus metrics, registered once per prom-client registry so several stores (or
 * tests) can share one registry without duplicate-registration errors.
 */
import { Histogram, type Registry, register } from "prom-client";

export interface StoreMetrics {
  /** Labels: operation (get, list, create, update, delete, watch-check), type (resource plural.group). */
  requestSeconds: Histogram<"operation" | "type">;
}

const perRegistry = new WeakMap<Registry, StoreMetrics>();

export function storeMetrics(registry: Registry = register): StoreMetrics {
  let metrics = perRegistry.get(registry);
  if (!metrics) {
    metrics = {
      requestSeconds: new Histogram({
        name: "etcd_request_duration_seconds",
        help: "Latency of etcd requests made by the store, by operation and resource type.",
        labelNames: ["operation", "type"],
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers: [registry],
      }),
    };
    perRegistry.set(registry, metrics);
  }
  return metrics;
}
