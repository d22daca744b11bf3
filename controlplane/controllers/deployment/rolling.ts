/**
 * The RollingUpdate strategy (Kubernetes' rolling.go). Each sync takes one step and returns; the
 * next event (pods turning available, ReplicaSets resized) brings the next. A step first grows the
 * new ReplicaSet within maxSurge, and only if it could not, shrinks old ReplicaSets within
 * maxUnavailable. Both bounds hold at every step:
 *   total pods wanted  <= replicas + maxSurge
 *   pods available     >= replicas - maxUnavailable   (old pods leave only as new ones are available)
 */

import {
  availablePods,
  byCreation,
  deploymentComplete,
  desiredReplicas,
  type ReadonlyReplicaSet,
  specReplicas,
  wantedPods,
} from "../../../foundation/workloads/deployment/replica-sets.js";
import type { Deployment } from "../../../proto/gen/api.js";
import { maxUnavailable } from "./fenceposts.js";
import { syncRolloutStatus } from "./progress.js";
import {
  cleanupOldReplicaSets,
  createNewReplicaSet,
  newReplicaSetReplicas,
  type ReplicaSets,
  type SyncContext,
  scaleIfNeeded,
} from "./sync.js";

export async function rolloutRolling(ctx: SyncContext, d: Deployment, sets: ReplicaSets): Promise<void> {
  let oldRSs = sets.oldRSs;
  let newRS = sets.newRS ?? (await createNewReplicaSet(ctx, d, oldRSs));
  const scaledUp = await reconcileNewReplicaSet(ctx, d, [...oldRSs, newRS], newRS);
  if (scaledUp) {
    newRS = scaledUp;
    return syncRolloutStatus(ctx, d, [...oldRSs, newRS], newRS);
  }
  const scaledDown = await reconcileOldReplicaSets(ctx, d, oldRSs, newRS);
  if (scaledDown) {
    oldRSs = scaledDown;
    return syncRolloutStatus(ctx, d, [...oldRSs, newRS], newRS);
  }
  if (d.status && deploymentComplete(d, d.status)) await cleanupOldReplicaSets(ctx, d, oldRSs);
  return syncRolloutStatus(ctx, d, [...oldRSs, newRS], newRS);
}

/** Grows (or, above spec.replicas, shrinks) the new set; returns it when resized. */
async function reconcileNewReplicaSet(
  ctx: SyncContext,
  d: Deployment,
  allRSs: readonly ReadonlyReplicaSet[],
  newRS: ReadonlyReplicaSet,
): Promise<ReadonlyReplicaSet | undefined> {
  const want = desiredReplicas(d);
  if (specReplicas(newRS) === want) return undefined;
  const target = specReplicas(newRS) > want ? want : newReplicaSetReplicas(d, allRSs, newRS);
  const { rs, scaled } = await scaleIfNeeded(ctx, d, newRS, target);
  return scaled ? rs : undefined;
}

/**
 * Shrinks old sets as far as availability allows; returns the updated old sets when anything
 * shrank. First the old sets' unavailable pods (they serve nobody), then available ones.
 *
 * replicas=4, maxSurge=1, maxUnavailable=0, old 4 available, new 1 not yet available:
 *   all=5, minAvailable=4, newUnavailable=1 → maxScaledDown = 5-4-1 = 0: wait.
 * once the new pod is available: maxScaledDown = 5-4-0 = 1 → old 4→3; total back to 4.
 */
async function reconcileOldReplicaSets(
  ctx: SyncContext,
  d: Deployment,
  oldRSs: readonly ReadonlyReplicaSet[],
  newRS: ReadonlyReplicaSet,
): Promise<ReadonlyReplicaSet[] | undefined> {
  if (wantedPods(oldRSs) === 0) return undefined;
  const allPods = wantedPods([...oldRSs, newRS]);
  const minAvailable = desiredReplicas(d) - maxUnavailable(d);
  const newUnavailable = specReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
  const maxScaledDown = allPods - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return undefined;
  const afterCleanup = await cleanupUnhealthyReplicas(ctx, d, oldRSs, maxScaledDown);
  const afterScaleDown = await scaleDownOldReplicaSets(ctx, d, afterCleanup.oldRSs, newRS);
  if (afterCleanup.scaledDown + afterScaleDown.scaledDown === 0) return undefined;
  return afterScaleDown.oldRSs;
}

/** Removes old sets' pods that are not available, oldest set first, at most `maxCleanup`. */
async function cleanupUnhealthyReplicas(
  ctx: SyncContext,
  d: Deployment,
  oldRSs: readonly ReadonlyReplicaSet[],
  maxCleanup: number,
): Promise<{ oldRSs: ReadonlyReplicaSet[]; scaledDown: number }> {
  const sorted = [...oldRSs].sort(byCreation);
  let total = 0;
  for (const [i, rs] of sorted.entries()) {
    if (total >= maxCleanup) break;
    const unhealthy = specReplicas(rs) - (rs.status?.availableReplicas ?? 0);
    if (specReplicas(rs) === 0 || unhealthy <= 0) continue;
    const count = Math.min(maxCleanup - total, unhealthy);
    sorted[i] = (await scaleIfNeeded(ctx, d, rs, specReplicas(rs) - count)).rs;
    total += count;
  }
  return { oldRSs: sorted, scaledDown: total };
}

/**
 * Removes available old pods while more than replicas-maxUnavailable pods are available in all,
 * oldest set first.
 */
async function scaleDownOldReplicaSets(
  ctx: SyncContext,
  d: Deployment,
  oldRSs: readonly ReadonlyReplicaSet[],
  newRS: ReadonlyReplicaSet,
): Promise<{ oldRSs: ReadonlyReplicaSet[]; scaledDown: number }> {
  const minAvailable = desiredReplicas(d) - maxUnavailable(d);
  const available = availablePods([...oldRSs, newRS]);
  const sorted = [...oldRSs].sort(byCreation);
  if (available <= minAvailable) return { oldRSs: sorted, scaledDown: 0 };
  const toScaleDown = available - minAvailable;
  let total = 0;
  for (const [i, rs] of sorted.entries()) {
    if (total >= toScaleDown) break;
    if (specReplicas(rs) === 0) continue;
    const count = Math.min(specReplicas(rs), toScaleDown - total);
    sorted[i] = (await scaleIfNeeded(ctx, d, rs, specReplicas(rs) - count)).rs;
    total += count;
  }
  return { oldRSs: sorted, scaledDown: total };
}
