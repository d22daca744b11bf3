/**
 * The Recreate strategy (Kubernetes' recreate.go): scale every old ReplicaSet to 0, wait until no
 * old pod is left at all (terminating ones included: they may still hold ports, volumes or
 * locks), then create or scale up the new ReplicaSet to the full count. Old and new pods never run
 * side by side.
 */

import {
  actualPods,
  deploymentComplete,
  desiredReplicas,
  type ReadonlyReplicaSet,
  specReplicas,
} from "../../../foundation/workloads/deployment/replica-sets.js";
import type { Deployment, Pod } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";
import { syncRolloutStatus } from "./progress.js";
import {
  cleanupOldReplicaSets,
  createNewReplicaSet,
  type ReplicaSets,
  type SyncContext,
  scaleIfNeeded,
} from "./sync.js";

/** Pods of each ReplicaSet by its uid, including terminating pods. */
export type PodsByReplicaSet = ReadonlyMap<string, readonly DeepReadonly<Pod>[]>;

export async function rolloutRecreate(
  ctx: SyncContext,
  d: Deployment,
  sets: ReplicaSets,
  podMap: PodsByReplicaSet,
): Promise<void> {
  let newRS = sets.newRS;
  const oldRSs = [...sets.oldRSs];
  let scaledDown = false;
  for (const [i, rs] of oldRSs.entries()) {
    if (specReplicas(rs) === 0) continue;
    const result = await scaleIfNeeded(ctx, d, rs, 0);
    oldRSs[i] = result.rs;
    scaledDown ||= result.scaled;
  }
  if (scaledDown || oldPodsRunning(newRS, oldRSs, podMap)) {
    return syncRolloutStatus(ctx, d, [...oldRSs, newRS], newRS);
  }
  // Created only now: scaling up must wait until the old pods are gone.
  newRS ??= await createNewReplicaSet(ctx, d, oldRSs);
  newRS = (await scaleIfNeeded(ctx, d, newRS, desiredReplicas(d))).rs;
  if (d.status && deploymentComplete(d, d.status)) await cleanupOldReplicaSets(ctx, d, oldRSs);
  return syncRolloutStatus(ctx, d, [...oldRSs, newRS], newRS);
}

/** True while any old ReplicaSet reports pods or any pod of one has not ended. */
function oldPodsRunning(
  newRS: ReadonlyReplicaSet | undefined,
  oldRSs: readonly ReadonlyReplicaSet[],
  podMap: PodsByReplicaSet,
): boolean {
  if (actualPods(oldRSs) > 0) return true;
  for (const [uid, pods] of podMap) {
    if (uid === newRS?.metadata.uid) continue;
    if (pods.some((p) => p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed")) return true;
  }
  return false;
}
