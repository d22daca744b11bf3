/**
 * Prometheus metrics of the service proxy, in a registry the agent injects: how long a rule sync
 * takes (full or partial), how many rules and map elements the table holds, and failed syncs.
 * One set per registry, because prom-client refuses a second metric of the same name in one.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface ProxyMetrics {
  syncSeconds: Histogram<"kind">;
  rules: Gauge;
  servicePorts: Gauge;
  syncErrors: Counter<"kind">;
  invalidObjects: Gauge;
}

const byRegistry = new WeakMap<Registry, ProxyMetrics>();

export function proxyMetrics(registry: Registry): ProxyMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const metrics: ProxyMetrics = {
    syncSeconds: new Histogram({
      name: "kctl_proxy_sync_duration_seconds",
      help: "Time to compute and apply one nftables transaction of the service proxy, by kind (full or partial).",
      labelNames: ["kind"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    rules: new Gauge({
      name: "kctl_proxy_rules",
      help: "Rules plus verdict-map elements the proxy's nftables table holds for services.",
      registers: [registry],
    }),
    servicePorts: new Gauge({
      name: "kctl_proxy_service_ports",
      help: "Service ports programmed in the proxy's nftables table.",
      registers: [registry],
    }),
    syncErrors: new Counter({
      name: "kctl_proxy_sync_errors_total",
      help: "Failed rule syncs, by kind (full or partial); each is followed by a full resync.",
      labelNames: ["kind"],
      registers: [registry],
    }),
    invalidObjects: new Gauge({
      name: "kctl_proxy_invalid_objects",
      help: "Services and Endpoints (or parts of them) left out of the rules because a field is invalid.",
      registers: [registry],
    }),
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
