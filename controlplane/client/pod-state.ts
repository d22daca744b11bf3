/**
 * What a controller needs to know about one pod's life, read from its status: whether it still
 * counts (active), whether it is Ready, and when it becomes available after `minReadySeconds`.
 * Pure functions of the pod and the time; shared by the ReplicaSet and Deployment controllers.
 */

import type { DeepReadonly } from "../../foundation/api/readonly.js";
import { parseTime } from "../../foundation/util/time.js";
import type { Pod } from "../../proto/gen/api.js";

type ReadonlyPod = DeepReadonly<Pod>;

/**
 * A pod counts towards its ReplicaSet's replicas until it ends (Succeeded or Failed) or starts
 * terminating (deletionTimestamp set): a terminating pod is already being replaced.
 */
export function isPodActive(pod: ReadonlyPod): boolean {
  const phase = pod.status?.phase;
  return phase !== "Succeeded" && phase !== "Failed" && !pod.metadata.deletionTimestamp;
}

function readyCondition(pod: ReadonlyPod) {
  return pod.status?.conditions?.find((c) => c.type === "Ready");
}

export function isPodReady(pod: ReadonlyPod): boolean {
  return readyCondition(pod)?.status === "True";
}

/** When the pod last turned Ready (ms since epoch), or undefined when it is not Ready or the time is unknown. */
export function readySince(pod: ReadonlyPod): number | undefined {
  const cond = readyCondition(pod);
  if (cond?.status !== "True" || !cond.lastTransitionTime) return undefined;
  return parseTime(cond.lastTransitionTime);
}

/**
 * The moment a Ready pod counts as available: `minReadySeconds` after it turned Ready (at once when
 * `minReadySeconds` is 0). Undefined while it is not Ready. A Ready pod without a transition time is
 * taken as available now, as Kubernetes does not hold back a pod whose history it cannot see.
 */
export function availableAt(pod: ReadonlyPod, minReadySeconds: number): number | undefined {
  if (!isPodReady(pod)) return undefined;
  if (minReadySeconds <= 0) return Number.NEGATIVE_INFINITY;
  const since = readySince(pod);
  return since === undefined ? Number.NEGATIVE_INFINITY : since + minReadySeconds * 1000;
}

/** Ready for at least `minReadySeconds` at `now`. */
export function isPodAvailable(pod: ReadonlyPod, minReadySeconds: number, now: number): boolean {
  const at = availableAt(pod, minReadySeconds);
  return at !== undefined && at <= now;
}
