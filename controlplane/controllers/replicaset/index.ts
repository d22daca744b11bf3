/**
 * The ReplicaSet controller: keeps the desired number of pods per ReplicaSet, owning them through
 * controller references, and reports replicas, ready and available counts. It never schedules,
 * starts or probes pods (the scheduler and node agents do), and never deletes ReplicaSets (the
 * garbage collector and the Deployment controller do). Also home of the ownership and pod-state
 * helpers the Deployment controller reuses.
 */

export {
  defaultBurstReplicas,
  type KeyQueue,
  podFromTemplate,
  podsResource,
  ReplicaSetController,
  type ReplicaSetControllerOptions,
  replicaSetsResource,
} from "./controller.js";
export { claimChildren, controllerRefOf, newControllerRef } from "./controller-ref.js";
export { defaultExpectationsTtlMs, Expectations } from "./expectations.js";
export { checkSources, handleUntil, type InformerSource, informerFor } from "./informer-source.js";
export { podDeletionCostAnnotation, podsToDelete } from "./pod-ranking.js";
export { availableAt, isPodActive, isPodAvailable, isPodReady } from "./pod-state.js";
export {
  type ControllerRunDeps,
  newRunner,
  type ReplicaSetControllerDeps,
  type StartedController,
  startReplicaSetController,
} from "./start.js";
