/**
 * A ReplicaSet's status from the pods it owns: replicas, fullyLabeledReplicas (pods carrying every
 * template label), readyReplicas, availableReplicas (Ready for minReadySeconds), observedGeneration,
 * and the ReplicaFailure condition while creating or deleting pods fails.
 */

import { isApiError } from "../../../foundation/api/errors.js";
import { rfc3339 } from "../../../foundation/util/time.js";
import type { Pod, ReplicaSet, ReplicaSetCondition, ReplicaSetStatus } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";
import { availableAt, isPodReady } from "../../client/pod-state.js";

type ReadonlyPod = DeepReadonly<Pod>;

function errorMessage(err: unknown): string {
  return isApiError(err) || err instanceof Error ? err.message : String(err);
}

/**
 * The status `rs` should report for its active, claimed `pods` at `now`. `manageError` is what
 * creating or deleting pods threw in this sync, if anything.
 */
export function calculateStatus(
  rs: DeepReadonly<ReplicaSet>,
  pods: readonly ReadonlyPod[],
  manageError: unknown,
  now: number,
): ReplicaSetStatus {
  const templateLabels = Object.entries(rs.spec?.template?.metadata?.labels ?? {});
  const minReadySeconds = rs.spec?.minReadySeconds ?? 0;
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const pod of pods) {
    const labels = pod.metadata.labels ?? {};
    if (templateLabels.every(([k, v]) => labels[k] === v)) fullyLabeled++;
    if (isPodReady(pod)) {
      ready++;
      if ((availableAt(pod, minReadySeconds) ?? Number.POSITIVE_INFINITY) <= now) available++;
    }
  }
  let conditions = (rs.status?.conditions ?? []).map((c) => ({ ...c }));
  const failure = conditions.find((c) => c.type === "ReplicaFailure");
  if (manageError !== undefined && !failure) {
    const diff = pods.length - (rs.spec?.replicas ?? 1);
    const cond: ReplicaSetCondition = {
      type: "ReplicaFailure",
      status: "True",
      lastTransitionTime: rfc3339(now),
      reason: diff < 0 ? "FailedCreate" : "FailedDelete",
      message: errorMessage(manageError),
    };
    conditions.push(cond);
  } else if (manageError === undefined && failure) {
    conditions = conditions.filter((c) => c !== failure);
  }
  const status: ReplicaSetStatus = {
    replicas: pods.length,
    fullyLabeledReplicas: fullyLabeled,
    readyReplicas: ready,
    availableReplicas: available,
    observedGeneration: rs.metadata.generation ?? 0,
  };
  if (conditions.length > 0) status.conditions = conditions;
  return status;
}

/** True when writing `next` would change nothing a reader sees. */
export function sameStatus(
  current: DeepReadonly<ReplicaSetStatus> | undefined,
  next: ReplicaSetStatus,
): boolean {
  const c = current ?? {};
  return (
    (c.replicas ?? 0) === next.replicas &&
    (c.fullyLabeledReplicas ?? 0) === next.fullyLabeledReplicas &&
    (c.readyReplicas ?? 0) === next.readyReplicas &&
    (c.availableReplicas ?? 0) === next.availableReplicas &&
    (c.observedGeneration ?? 0) === next.observedGeneration &&
    JSON.stringify(c.conditions ?? []) === JSON.stringify(next.conditions ?? [])
  );
}

/**
 * Milliseconds until the next Ready pod of `pods` turns available, or undefined when none is
 * waiting: the controller requeues itself then, because no event announces that moment.
 */
export function nextAvailableIn(
  pods: readonly ReadonlyPod[],
  minReadySeconds: number,
  now: number,
): number | undefined {
  let soonest: number | undefined;
  for (const pod of pods) {
    const at = availableAt(pod, minReadySeconds);
    if (at === undefined || at <= now) continue;
    soonest = soonest === undefined ? at : Math.min(soonest, at);
  }
  return soonest === undefined ? undefined : soonest - now;
}
