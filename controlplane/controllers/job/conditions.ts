/**
 * A Job's conditions as upstream v1.32 writes them. Finishing takes two steps: first the interim
 * condition (SuccessCriteriaMet or FailureTarget) while the remaining pods are stopped, then the
 * terminal one (Complete or Failed, same reason and message) once none is left running or
 * terminating. Suspended turns True while suspended and False (JobResumed) after.
 */

import { rfc3339 } from "../../../foundation/util/time.js";
import type { JobCondition, JobStatus } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";

export type JobConditionType = "Complete" | "Failed" | "Suspended" | "FailureTarget" | "SuccessCriteriaMet";

/** Why a Job finishes: its condition reason and message, and the event it records. */
export interface Outcome {
  success: boolean;
  reason: string;
  message: string;
}

export const completionsReached: Outcome = {
  success: true,
  reason: "CompletionsReached",
  message: "Reached expected number of succeeded pods",
};
export const backoffLimitExceeded: Outcome = {
  success: false,
  reason: "BackoffLimitExceeded",
  message: "Job has reached the specified backoff limit",
};
export const deadlineExceeded: Outcome = {
  success: false,
  reason: "DeadlineExceeded",
  message: "Job was active longer than specified deadline",
};

export function findCondition(
  status: DeepReadonly<JobStatus> | undefined,
  type: JobConditionType,
): DeepReadonly<JobCondition> | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

export function hasCondition(status: DeepReadonly<JobStatus> | undefined, type: JobConditionType): boolean {
  return findCondition(status, type)?.status === "True";
}

/** Complete or Failed: the Job is done and its controller only tidies up. */
export function isFinished(status: DeepReadonly<JobStatus> | undefined): boolean {
  return hasCondition(status, "Complete") || hasCondition(status, "Failed");
}

/**
 * Sets condition `type` in `status` (in place). An existing condition keeps its transition time
 * when its status does not change, as upstream; probe and transition times are both `now`.
 */
export function setCondition(
  status: JobStatus,
  type: JobConditionType,
  value: "True" | "False",
  reason: string,
  message: string,
  now: number,
): void {
  status.conditions ??= [];
  const list = status.conditions;
  const at = rfc3339(now);
  const existing = list.find((c) => c.type === type);
  if (existing) {
    if (existing.status === value && existing.reason === reason && existing.message === message) return;
    if (existing.status !== value) existing.lastTransitionTime = at;
    Object.assign(existing, { status: value, reason, message, lastProbeTime: at });
    return;
  }
  list.push({ type, status: value, lastProbeTime: at, lastTransitionTime: at, reason, message });
}
