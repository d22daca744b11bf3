/**
 * maxUnavailable and maxSurge of a DaemonSet as node counts (upstream's updatedDesiredNodeCounts):
 * percents of the nodes that should run a pod, rounded up. With both 0 (only possible with a
 * percent rounding to nothing, validation refuses literal zeros) one node at a time may go
 * unavailable, so a rollout never wedges.
 */
import type { DaemonSet } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";

/** `value` as a count of `total`: a number as is, "N%" rounded up. */
export function scaledCount(value: number | string | undefined, total: number): number {
  if (value === undefined) return 0;
  if (typeof value === "number") return value;
  return Math.ceil((Number(value.slice(0, -1)) * total) / 100);
}

// desired=10: maxUnavailable "25%" → 3 (rounded up), maxSurge 0 → 0.
// desired=3: maxUnavailable "10%" → 1.
export function rolloutBudget(
  ds: DeepReadonly<DaemonSet>,
  desired: number,
): { maxUnavailable: number; maxSurge: number } {
  const ru = ds.spec?.updateStrategy?.rollingUpdate;
  const maxSurge = scaledCount(ru?.maxSurge, desired);
  let maxUnavailable = scaledCount(ru?.maxUnavailable ?? 1, desired);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxUnavailable, maxSurge };
}

/** Whether the DaemonSet may run a new pod beside the old one on a node during an update. */
export function allowsSurge(ds: DeepReadonly<DaemonSet>): boolean {
  return ds.spec?.updateStrategy?.type === "RollingUpdate" && rolloutBudget(ds, 1).maxSurge > 0;
}
