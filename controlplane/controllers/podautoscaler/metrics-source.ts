/**
 * Where the autoscaler reads pods' usage (upstream's resource metrics client over
 * metrics.k8s.io): per pod and container, in milli-units as resource.Quantity's MilliValue gives
 * them (millicores for cpu; bytes × 1000 for memory). The integrator implements it over the
 * control plane's usage store; unit tests pass samples directly.
 */
import type { Selector } from "../../../foundation/api/labels.js";
import type { PodMetric, PodMetrics } from "./replica-calculator.js";

export interface ContainerUsage {
  name: string;
  /** By resource name (cpu, memory): milli-units. */
  usage: Readonly<Record<string, number>>;
}

export interface PodUsageSample {
  name: string;
  timestampMs: number;
  windowMs: number;
  containers: readonly ContainerUsage[];
}

export interface ResourceMetricsSource {
  /** The usage of the pods in `namespace` whose labels match `selector`. */
  podMetrics(namespace: string, selector: Selector): readonly PodUsageSample[];
}

export class MetricsUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MetricsUnavailableError";
  }
}

/**
 * Each pod's usage of `resource` (one container's, or the sum over its containers; a pod missing
 * the resource in any counted container is left out, as upstream's client leaves it out) and the
 * samples' timestamp.
 */
export function resourceMetric(
  source: ResourceMetricsSource,
  resource: string,
  namespace: string,
  selector: Selector,
  container: string | undefined,
): { metrics: PodMetrics; timestampMs: number } {
  const samples = source.podMetrics(namespace, selector);
  if (samples.length === 0) {
    throw new MetricsUnavailableError(
      `unable to get metrics for resource ${resource}: no metrics returned from resource metrics API`,
    );
  }
  const metrics = new Map<string, PodMetric>();
  for (const s of samples) {
    const counted = container ? s.containers.filter((c) => c.name === container) : s.containers;
    if (counted.length === 0 || counted.some((c) => c.usage[resource] === undefined)) continue;
    const value = counted.reduce((sum, c) => sum + (c.usage[resource] ?? 0), 0);
    metrics.set(s.name, { timestampMs: s.timestampMs, windowMs: s.windowMs, value });
  }
  if (container && metrics.size === 0) {
    throw new MetricsUnavailableError(
      `unable to get metrics for resource ${resource}: failed to get container metrics: container ${container} not present in metrics`,
    );
  }
  return { metrics, timestampMs: samples[0]!.timestampMs };
}
