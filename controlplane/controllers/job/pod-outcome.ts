/**
 * How the Job controller reads one of its pods: running (active), terminating, or finished as a
 * success or a failure, and when it finished. A pod deleted before it ended counts as failed
 * unless the Job replaces only Failed pods (podReplacementPolicy Failed), as upstream.
 */

import { parseTime } from "../../../foundation/util/time.js";
import type { Pod } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";

type ReadonlyPod = DeepReadonly<Pod>;

export function isSucceeded(pod: ReadonlyPod): boolean {
  return pod.status?.phase === "Succeeded";
}

/**
 * A failed pod: phase Failed, or (unless only Failed pods are replaced) being deleted before it
 * succeeded.
 */
export function isFailed(pod: ReadonlyPod, onlyReplaceFailed: boolean): boolean {
  if (pod.status?.phase === "Failed") return true;
  if (onlyReplaceFailed) return false;
  return Boolean(pod.metadata.deletionTimestamp) && pod.status?.phase !== "Succeeded";
}

/** Still running or about to: not finished and not being deleted. */
export function isActive(pod: ReadonlyPod): boolean {
  const phase = pod.status?.phase;
  return phase !== "Succeeded" && phase !== "Failed" && !pod.metadata.deletionTimestamp;
}

/** Being deleted and not finished yet: its containers may still run. */
export function isTerminating(pod: ReadonlyPod): boolean {
  const phase = pod.status?.phase;
  return Boolean(pod.metadata.deletionTimestamp) && phase !== "Succeeded" && phase !== "Failed";
}

/**
 * When the pod ended (ms): its last container's finishedAt, else its deletion time, else when it
 * was created. Backoff counts from this moment.
 */
export function finishedAt(pod: ReadonlyPod): number {
  let latest: number | undefined;
  for (const cs of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const t = parseTime(cs.state?.terminated?.finishedAt);
    if (t !== undefined && (latest === undefined || t > latest)) latest = t;
  }
  return (
    latest ?? parseTime(pod.metadata.deletionTimestamp) ?? parseTime(pod.metadata.creationTimestamp) ?? 0
  );
}

/** Container restarts of a pod: what backoffLimit counts for restartPolicy OnFailure. */
export function restartCount(pod: ReadonlyPod): number {
  let n = 0;
  for (const cs of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])])
    n += cs.restartCount ?? 0;
  return n;
}
