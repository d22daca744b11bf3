/**
 * The apiserver's Prometheus metrics: requests by verb, resource, subresource and code, their
 * latency (watches excluded: they last as long as the client wants), and open watch streams.
 * Registered once per prom-client registry.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface ApiServerMetrics {
  requests: Counter<"verb" | "resource" | "subresource" | "code">;
  latency: Histogram<"verb" | "resource" | "subresource" | "code">;
  openWatches: Gauge<"resource">;
}

const perRegistry = new WeakMap<Registry, ApiServerMetrics>();

export function apiServerMetrics(registry: Registry): ApiServerMetrics {
  let metrics = perRegistry.get(registry);
  if (!metrics) {
    const labelNames = ["verb", "resource", "subresource", "code"] as const;
    metrics = {
      requests: new Counter({
        name: "apiserver_request_total",
        help: "API requests by verb (GET, LIST, WATCH, POST, PUT, PATCH, DELETE), resource, subresource and HTTP code.",
        labelNames,
        registers: [registry],
      }),
      latency: new Histogram({
        name: "apiserver_request_duration_seconds",
        help: "API request latency by verb, resource, subresource and HTTP code; watches are not included.",
        labelNames,
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [registry],
      }),
      openWatches: new Gauge({
        name: "apiserver_open_watches",
        help: "Watch streams currently open, by resource.",
        labelNames: ["resource"],
        registers: [registry],
      }),
    };
    perRegistry.set(registry, metrics);
  }
  return metrics;
}
