/**
 * A StatefulSet's status from its pods (upstream's computeReplicaStatus): counts of created,
 * ready, available, current and updated pods, the two revisions, and the update declared complete
 * (current := update) once every pod is updated and ready.
 */
import type { Pod, StatefulSet, StatefulSetStatus } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";
import { isPodAvailable, isPodReady } from "../../client/pod-state.js";
import { revisionLabel } from "./identity.js";

export function calculateStatus(
  set: DeepReadonly<StatefulSet>,
  pods: readonly DeepReadonly<Pod>[],
  currentRevision: string,
  updateRevision: string,
  now: number,
): StatefulSetStatus {
  const status: StatefulSetStatus = {
    observedGeneration: set.metadata.generation ?? 0,
    replicas: 0,
    readyReplicas: 0,
    availableReplicas: 0,
    currentReplicas: 0,
    updatedReplicas: 0,
    currentRevision,
    updateRevision,
    collisionCount: set.status?.collisionCount ?? 0,
  };
  for (const pod of pods) {
    if (!pod.status?.phase) continue;
    status.replicas! += 1;
    if (pod.status.phase === "Running" && isPodReady(pod)) {
      status.readyReplicas! += 1;
      if (isPodAvailable(pod, set.spec?.minReadySeconds ?? 0, now)) status.availableReplicas! += 1;
    }
    if (pod.metadata.deletionTimestamp) continue;
    const rev = pod.metadata.labels?.[revisionLabel];
    if (rev === currentRevision) status.currentReplicas! += 1;
    if (rev === updateRevision) status.updatedReplicas! += 1;
  }
  if (
    set.spec?.updateStrategy?.type !== "OnDelete" &&
    status.updatedReplicas === status.replicas &&
    status.readyReplicas === status.replicas
  ) {
    status.currentReplicas = status.updatedReplicas ?? 0;
    status.currentRevision = updateRevision;
  }
  return status;
}

export function sameStatus(a: DeepReadonly<StatefulSetStatus> | undefined, b: StatefulSetStatus): boolean {
  return JSON.stringify({ ...a, conditions: undefined }) === JSON.stringify({ ...b, conditions: undefined });
}
