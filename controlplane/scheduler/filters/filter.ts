/**
 * The filter contract. A filter is prepared once per scheduling attempt (where it may precompute
 * anything that depends only on the pod and the cluster) and yields a per-node check that must be
 * cheap and allocation-free on success, because it runs for up to every node for every pod.
 */
import type { SchedulerCache } from "../cache.js";
import type { NodeInfo } from "../node-info.js";
import type { PodInfo } from "../pod-info.js";

/** True when `node` passes; on failure pushes the unschedulable reason(s) onto `reasons`. */
export type NodeCheck = (node: NodeInfo, reasons: string[]) => boolean;

export interface Filter {
  readonly name: string;
  /** The check for this pod, or undefined when the filter cannot reject any node for it. */
  prepare(pod: PodInfo, cache: SchedulerCache): NodeCheck | undefined;
}
