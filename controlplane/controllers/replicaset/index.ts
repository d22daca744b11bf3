/**
 * The ReplicaSet controller: keeps the desired number of pods per ReplicaSet, owning them through
 * controller references, and reports replicas, ready and available counts. It never schedules,
 * starts or probes pods (the scheduler and node agents do), and never deletes ReplicaSets (the
 * garbage collector and the Deployment controller do). The ownership and pod-state helpers it
 * shares with other controllers live in controlplane/client.
 */

export {
  defaultBurstReplicas,
  type KeyQueue,
  podFromTemplate,
  podsResource,
  ReplicaSetController,
  type ReplicaSetControllerOptions,
  replicaSetsResource,
  slowStartBatch,
} from "./controller.js";
export { defaultExpectationsTtlMs, Expectations } from "./expectations.js";
export { podDeletionCostAnnotation, podsToDelete } from "./pod-ranking.js";
export { type ReplicaSetControllerDeps, startReplicaSetController } from "./start.js";
