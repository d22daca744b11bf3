/**
 * Rollout progress (Kubernetes' progress.go): the Progressing condition and the progress deadline.
 * Any progress (more updated, ready or available pods, fewer old ones) refreshes Progressing's
 * lastUpdateTime; no progress for progressDeadlineSeconds after it turns the condition False with
 * reason ProgressDeadlineExceeded. A complete rollout reports NewReplicaSetAvailable and stamps its
 * ReplicaSet `kctl.io/rollout-complete` (what automatic rollback looks for). Nothing announces that
 * a deadline passed, so a sync that changed nothing requeues itself for that moment.
 */

import { parseTime, rfc3339 } from "../../../foundation/util/time.js";
import { rolloutCompleteAnnotation } from "../../../foundation/workloads/deployment/annotations.js";
import {
  getCondition,
  newCondition,
  reasons,
  removeCondition,
  setCondition,
} from "../../../foundation/workloads/deployment/conditions.js";
import {
  deploymentComplete,
  type ReadonlyReplicaSet,
} from "../../../foundation/workloads/deployment/replica-sets.js";
import type {
  Deployment,
  DeploymentCondition,
  DeploymentStatus,
  ReplicaSet,
} from "../../../proto/gen/api.js";
import { replicaSetsResource } from "../replicaset/index.js";
import { autoRollback, autoRollbackEnabled, completedOnce } from "./auto-rollback.js";
import { calculateStatus, hasProgressDeadline, type SyncContext, sameStatus, writeStatus } from "./sync.js";

/** Did the rollout move since the last status? (Kubernetes' DeploymentProgressing.) */
function madeProgress(d: Deployment, next: DeploymentStatus): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (next.replicas ?? 0) - (next.updatedReplicas ?? 0);
  return (
    (next.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (next.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (next.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
  );
}

/** When the current Progressing condition's deadline passes (ms), or undefined when none runs. */
function deadlineAt(d: Deployment, cond: DeploymentCondition | undefined): number | undefined {
  if (!hasProgressDeadline(d) || !cond) return undefined;
  if (cond.reason === reasons.newReplicaSetAvailable || cond.reason === reasons.progressDeadlineExceeded) {
    return undefined;
  }
  const from = parseTime(cond.lastUpdateTime);
  return from === undefined ? undefined : from + (d.spec?.progressDeadlineSeconds ?? 0) * 1000;
}

/**
 * Computes and writes the Deployment's status after a rollout step, with the Progressing and
 * ReplicaFailure conditions; marks a completed rollout on its ReplicaSet; and, when the deadline has
 * just been missed and the Deployment opted in, rolls it back before writing the status.
 */
export async function syncRolloutStatus(
  ctx: SyncContext,
  d: Deployment,
  allRSs: readonly (ReadonlyReplicaSet | undefined)[],
  newRS: ReadonlyReplicaSet | undefined,
): Promise<void> {
  const now = ctx.clock.now();
  const status = calculateStatus(d, allRSs, newRS, now);
  const current = getCondition(d.status, "Progressing");
  if (!hasProgressDeadline(d)) removeCondition(status, "Progressing");
  const complete =
    status.replicas === status.updatedReplicas && current?.reason === reasons.newReplicaSetAvailable;
  const subject = newRS ? `ReplicaSet "${newRS.metadata.name}"` : `Deployment "${d.metadata.name}"`;
  if (hasProgressDeadline(d) && !complete) {
    const cond = getCondition(status, "Progressing") as DeploymentCondition | undefined;
    if (deploymentComplete(d, status)) {
      const msg = `${subject} has successfully progressed.`;
      setCondition(status, newCondition("Progressing", "True", reasons.newReplicaSetAvailable, msg, now));
    } else if (madeProgress(d, status)) {
      const next = newCondition(
        "Progressing",
        "True",
        reasons.replicaSetUpdated,
        `${subject} is progressing.`,
        now,
      );
      // Same reason again must still move lastUpdateTime: that is what the deadline counts from.
      if (cond?.status === "True" && cond.lastTransitionTime)
        next.lastTransitionTime = cond.lastTransitionTime;
      removeCondition(status, "Progressing");
      setCondition(status, next);
    } else if (cond?.reason === reasons.progressDeadlineExceeded || (deadlineAt(d, cond) ?? Infinity) < now) {
      const msg = `${subject} has timed out progressing.`;
      setCondition(status, newCondition("Progressing", "False", reasons.progressDeadlineExceeded, msg, now));
    }
  }
  const failure = replicaFailure(allRSs, newRS);
  if (failure) setCondition(status, failure);
  else removeCondition(status, "ReplicaFailure");

  if (newRS && deploymentComplete(d, status) && !completedOnce(newRS)) await markComplete(ctx, newRS, now);
  const timedOutNow =
    getCondition(status, "Progressing")?.reason === reasons.progressDeadlineExceeded &&
    current?.reason !== reasons.progressDeadlineExceeded;
  if (timedOutNow && autoRollbackEnabled(d)) await autoRollback(ctx, d, allRSs, newRS);

  if (sameStatus(d.status, status)) {
    const at = deadlineAt(d, getCondition(status, "Progressing") as DeploymentCondition | undefined);
    // One second late, as Kubernetes does: a deadline is "passed" only strictly after it.
    if (at !== undefined && !deploymentComplete(d, status))
      ctx.queue.addAfter(ctx.key, Math.max(0, at - now) + 1000);
    return;
  }
  d.status = status;
  await writeStatus(ctx, d);
}

/** The first ReplicaFailure condition of the new set, else of any set, as a Deployment condition. */
function replicaFailure(
  allRSs: readonly (ReadonlyReplicaSet | undefined)[],
  newRS: ReadonlyReplicaSet | undefined,
): DeploymentCondition | undefined {
  for (const rs of [newRS, ...allRSs]) {
    const c = rs?.status?.conditions?.find((x) => x.type === "ReplicaFailure");
    if (!c) continue;
    const cond: DeploymentCondition = { type: "ReplicaFailure", status: c.status ?? "True" };
    if (c.lastTransitionTime) {
      cond.lastUpdateTime = c.lastTransitionTime;
      cond.lastTransitionTime = c.lastTransitionTime;
    }
    if (c.reason) cond.reason = c.reason;
    if (c.message) cond.message = c.message;
    return cond;
  }
  return undefined;
}

async function markComplete(ctx: SyncContext, rs: ReadonlyReplicaSet, now: number): Promise<void> {
  await ctx.client.patch<ReplicaSet>(
    replicaSetsResource,
    rs.metadata.namespace ?? "",
    rs.metadata.name ?? "",
    {
      metadata: { annotations: { [rolloutCompleteAnnotation]: rfc3339(now) } },
    },
  );
}
