/**
 * Upstream's replica calculator (pkg/controller/podautoscaler/replica_calculator.go) for resource
 * metrics: how many replicas would bring the pods' average usage to the target, from the pods the
 * target's selector picks and their usage samples. Pure: the caller passes pods, samples and time.
 *
 * Pods are grouped first: deleted, failed and pending pods are ignored; pods without a sample are
 * "missing"; for CPU, pods not yet ready (or whose sample may predate readiness, within the CPU
 * initialization period) are "unready". When nothing is missing or unready the answer is
 * ceil(ratio × ready pods), or no change within the tolerance. Otherwise the ratio is recomputed
 * assuming the worst case for the direction of the change (missing pods at 100% of their request
 * on a scale-down and at 0% on a scale-up, unready pods at 0% on a scale-up), and a recomputed
 * ratio that flips direction or lands within tolerance keeps the current count.
 */

import { quantityMilliValue } from "../../../foundation/api/quantity.js";
import { parseTime } from "../../../foundation/util/time.js";
import type { Pod } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";

/** One pod's usage of one resource, in milli-units (millicores, or bytes × 1000 as upstream). */
export interface PodMetric {
  timestampMs: number;
  windowMs: number;
  value: number;
}

export type PodMetrics = Map<string, PodMetric>;

export interface CalculatorSettings {
  /** |1 − ratio| at or below this changes nothing (upstream's 0.1). */
  tolerance: number;
  /** A started pod's CPU samples may be skewed by its start-up for this long (5 min). */
  cpuInitializationPeriodMs: number;
  /** A pod unready this soon after its start is taken as never ready yet (30 s). */
  delayOfInitialReadinessMs: number;
}

export const defaultCalculatorSettings: CalculatorSettings = {
  tolerance: 0.1,
  cpuInitializationPeriodMs: 5 * 60_000,
  delayOfInitialReadinessMs: 30_000,
};

export class ReplicaCalculationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReplicaCalculationError";
  }
}

type ReadonlyPod = DeepReadonly<Pod>;

interface Groups {
  readyPodCount: number;
  unready: Set<string>;
  missing: Set<string>;
  ignored: Set<string>;
}

export function groupPods(
  pods: readonly ReadonlyPod[],
  metrics: PodMetrics,
  resource: string,
  now: number,
  s: CalculatorSettings,
): Groups {
  const g: Groups = { readyPodCount: 0, unready: new Set(), missing: new Set(), ignored: new Set() };
  for (const pod of pods) {
    const name = pod.metadata.name ?? "";
    const phase = pod.status?.phase;
    if (pod.metadata.deletionTimestamp || phase === "Failed" || phase === "Pending") {
      g.ignored.add(name);
      continue;
    }
    const metric = metrics.get(name);
    if (!metric) {
      g.missing.add(name);
      continue;
    }
    if (resource === "cpu") {
      const ready = pod.status?.conditions?.find((c) => c.type === "Ready");
      const start = parseTime(pod.status?.startTime);
      const transition = parseTime(ready?.lastTransitionTime) ?? 0;
      let unready: boolean;
      if (!ready || start === undefined) {
        unready = true;
      } else if (start + s.cpuInitializationPeriodMs > now) {
        // Within start-up: unready, or the sample's window may reach back before it became ready.
        unready = ready.status === "False" || metric.timestampMs < transition + metric.windowMs;
      } else {
        // Past start-up: only a pod that has never been ready is left out.
        unready = ready.status === "False" && start + s.delayOfInitialReadinessMs > transition;
      }
      if (unready) {
        g.unready.add(name);
        continue;
      }
    }
    g.readyPodCount++;
  }
  return g;
}

/** Each pod's request of `resource` in milli-units, summed over its containers (or one container). */
export function podRequests(
  pods: readonly ReadonlyPod[],
  resource: string,
  container: string | undefined,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const pod of pods) {
    let sum = 0;
    for (const c of pod.spec?.containers ?? []) {
      if (container && c.name !== container) continue;
      const request = c.resources?.requests?.[resource];
      if (request === undefined) {
        throw new ReplicaCalculationError(
          `missing request for ${resource} in container ${c.name} of Pod ${pod.metadata.name}`,
        );
      }
      sum += quantityMilliValue(request);
    }
    out.set(pod.metadata.name ?? "", sum);
  }
  return out;
}

/**
 * The usage as a fraction of the target utilization, the utilization in whole percent, and the
 * average raw usage, over the pods that have both a sample and a request.
 */
export function utilizationRatio(
  metrics: PodMetrics,
  requests: ReadonlyMap<string, number>,
  targetUtilization: number,
): { ratio: number; utilization: number; rawAverage: number } {
  let used = 0;
  let requested = 0;
  let n = 0;
  for (const [name, m] of metrics) {
    const request = requests.get(name);
    if (request === undefined) continue;
    used += m.value;
    requested += request;
    n++;
  }
  if (requested === 0) throw new ReplicaCalculationError("no metrics returned matched known pods");
  const utilization = Math.trunc((used * 100) / requested);
  return { ratio: utilization / targetUtilization, utilization, rawAverage: Math.trunc(used / n) };
}

function usageRatio(metrics: PodMetrics, targetUsage: number): { ratio: number; usage: number } {
  let total = 0;
  for (const m of metrics.values()) total += m.value;
  const usage = Math.trunc(total / metrics.size);
  return { ratio: usage / targetUsage, usage };
}

export interface ResourceReplicas {
  replicas: number;
  /** Average utilization in percent of request (Utilization targets only). */
  utilization?: number;
  /** Average usage in milli-units. */
  rawAverage: number;
  timestampMs: number;
}

interface Input {
  currentReplicas: number;
  pods: readonly ReadonlyPod[];
  metrics: PodMetrics;
  resource: string;
  now: number;
  settings: CalculatorSettings;
}

/** The samples of the pods that count, the groups, or the upstream errors when none do. */
function prepare(input: Input): { metrics: PodMetrics; g: Groups } {
  if (input.pods.length === 0) {
    throw new ReplicaCalculationError("no pods returned by selector while calculating replica count");
  }
  const g = groupPods(input.pods, input.metrics, input.resource, input.now, input.settings);
  const metrics = new Map(input.metrics);
  for (const name of [...g.ignored, ...g.unready]) metrics.delete(name);
  // Samples of pods the selector no longer picks do not count either.
  const names = new Set(input.pods.map((p) => p.metadata.name ?? ""));
  for (const name of [...metrics.keys()]) if (!names.has(name)) metrics.delete(name);
  if (metrics.size === 0) {
    throw new ReplicaCalculationError("did not receive metrics for targeted pods (pods might be unready)");
  }
  return { metrics, g };
}

/**
 * The count once missing and unready pods are accounted for; `ratio` is the first estimate and
 * `rerun` the ratio over `metrics` with the fill-ins.
 */
function adjusted(
  input: Input,
  g: Groups,
  metrics: PodMetrics,
  ratio: number,
  fill: { missingDown: (name: string) => number },
  rerun: (m: PodMetrics) => number,
): number {
  const scaleUpWithUnready = g.unready.size > 0 && ratio > 1;
  if (!scaleUpWithUnready && g.missing.size === 0) {
    if (Math.abs(1 - ratio) <= input.settings.tolerance) return input.currentReplicas;
    return Math.ceil(ratio * g.readyPodCount);
  }
  const sample = { timestampMs: 0, windowMs: 0 };
  if (g.missing.size > 0) {
    for (const name of g.missing) {
      if (ratio < 1) metrics.set(name, { ...sample, value: fill.missingDown(name) });
      else if (ratio > 1) metrics.set(name, { ...sample, value: 0 });
    }
  }
  if (scaleUpWithUnready) for (const name of g.unready) metrics.set(name, { ...sample, value: 0 });
  const newRatio = rerun(metrics);
  if (
    Math.abs(1 - newRatio) <= input.settings.tolerance ||
    (ratio < 1 && newRatio > 1) ||
    (ratio > 1 && newRatio < 1)
  ) {
    return input.currentReplicas;
  }
  const replicas = Math.ceil(newRatio * metrics.size);
  if (
    (newRatio < 1 && replicas > input.currentReplicas) ||
    (newRatio > 1 && replicas < input.currentReplicas)
  ) {
    return input.currentReplicas;
  }
  return replicas;
}

/** Replicas for a Utilization target (percent of the pods' requests); upstream's GetResourceReplicas. */
export function resourceReplicas(
  input: Input & { targetUtilization: number; container?: string | undefined; timestampMs: number },
): ResourceReplicas {
  const { metrics, g } = prepare(input);
  const requests = podRequests(input.pods, input.resource, input.container);
  const first = utilizationRatio(metrics, requests, input.targetUtilization);
  // 100% of the request, or the target if higher: the most a missing pod could be using.
  const fallback = Math.max(100, input.targetUtilization);
  const replicas = adjusted(
    input,
    g,
    metrics,
    first.ratio,
    { missingDown: (name) => Math.trunc(((requests.get(name) ?? 0) * fallback) / 100) },
    (m) => utilizationRatio(m, requests, input.targetUtilization).ratio,
  );
  return {
    replicas,
    utilization: first.utilization,
    rawAverage: first.rawAverage,
    timestampMs: input.timestampMs,
  };
}

/** Replicas for an AverageValue target (milli-units per pod); upstream's GetRawResourceReplicas. */
export function rawResourceReplicas(
  input: Input & { targetUsage: number; timestampMs: number },
): ResourceReplicas {
  const { metrics, g } = prepare(input);
  const first = usageRatio(metrics, input.targetUsage);
  const replicas = adjusted(
    input,
    g,
    metrics,
    first.ratio,
    { missingDown: () => input.targetUsage },
    (m) => usageRatio(m, input.targetUsage).ratio,
  );
  return { replicas, rawAverage: first.usage, timestampMs: input.timestampMs };
}
