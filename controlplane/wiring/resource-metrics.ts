/**
 * The autoscaler's view of pod usage over the control plane's usage store (what it would read from
 * metrics.k8s.io): pods of a namespace whose labels match, with the reported uid still current, in
 * the milli-units Quantity.MilliValue gives (CPU nanocores rounded up to millicores, memory bytes
 * × 1000).
 */

import { matchesSelector, type Selector } from "../../foundation/api/labels.js";
import type { KubeObject } from "../../foundation/api/object.js";
import type { Pod } from "../../proto/gen/api.js";
import type { Lister } from "../client/index.js";
import type { PodUsageSample, ResourceMetricsSource } from "../controllers/podautoscaler/index.js";
import type { UsageStore } from "../metrics-api/usage-store.js";

export function usageMetricsSource(usage: UsageStore, pods: Lister<Pod & KubeObject>): ResourceMetricsSource {
  return {
    podMetrics(namespace: string, selector: Selector): PodUsageSample[] {
      return usage.listPods(namespace).flatMap((u) => {
        const pod = pods.get(`${u.namespace}/${u.name}`);
        if (!pod || pod.metadata.uid !== u.uid || !matchesSelector(selector, pod.metadata.labels)) return [];
        return [
          {
            name: u.name,
            timestampMs: u.timestampMs,
            windowMs: u.windowMs,
            containers: u.containers.map((c) => ({
              name: c.name,
              usage: { cpu: Math.ceil(c.usage.cpuNanoCores / 1e6), memory: c.usage.memoryBytes * 1000 },
            })),
          },
        ];
      });
    },
  };
}
