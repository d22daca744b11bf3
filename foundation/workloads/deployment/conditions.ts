/**
 * Deployment conditions and their reasons, named as in Kubernetes so `kubectl`-literate users and
 * tools read them unchanged. `Available` says whether at least replicas-maxUnavailable pods are
 * available; `Progressing` tracks the rollout (and turns False with ProgressDeadlineExceeded);
 * `ReplicaFailure` mirrors a ReplicaSet that cannot create or delete pods.
 */

import { rfc3339 } from "../../../foundation/util/time.js";
import type { DeploymentCondition, DeploymentStatus } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../api/readonly.js";

export type ConditionType = "Available" | "Progressing" | "ReplicaFailure";

export const reasons = {
  newReplicaSetCreated: "NewReplicaSetCreated",
  foundNewReplicaSet: "FoundNewReplicaSet",
  replicaSetUpdated: "ReplicaSetUpdated",
  newReplicaSetAvailable: "NewReplicaSetAvailable",
  progressDeadlineExceeded: "ProgressDeadlineExceeded",
  replicaSetCreateError: "ReplicaSetCreateError",
  paused: "DeploymentPaused",
  resumed: "DeploymentResumed",
  minimumReplicasAvailable: "MinimumReplicasAvailable",
  minimumReplicasUnavailable: "MinimumReplicasUnavailable",
} as const;

export function newCondition(
  type: ConditionType,
  status: "True" | "False" | "Unknown",
  reason: string,
  message: string,
  now: number,
): DeploymentCondition {
  const t = rfc3339(now);
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

export function getCondition(
  status: DeepReadonly<DeploymentStatus> | undefined,
  type: ConditionType,
): DeepReadonly<DeploymentCondition> | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/**
 * Puts `cond` into `status` (mutable). Same status and reason as the current one: nothing changes,
 * not even times. Same status, other reason: the transition time is kept.
 */
export function setCondition(status: DeploymentStatus, cond: DeploymentCondition): void {
  const current = status.conditions?.find((c) => c.type === cond.type);
  if (current && current.status === cond.status && current.reason === cond.reason) return;
  const next = { ...cond };
  if (current && current.status === cond.status && current.lastTransitionTime) {
    next.lastTransitionTime = current.lastTransitionTime;
  }
  status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== cond.type), next];
}

export function removeCondition(status: DeploymentStatus, type: ConditionType): void {
  if (!status.conditions) return;
  status.conditions = status.conditions.filter((c) => c.type !== type);
  if (status.conditions.length === 0) delete status.conditions;
}
