/**
 * The Deployment controller: one ReplicaSet per pod template (named `<deployment>-<pod-template-hash>`),
 * rolled with RollingUpdate (maxSurge/maxUnavailable) or Recreate, with revisions, pausing,
 * progress deadlines, revision history cleanup and (opt-in) automatic rollback. It writes
 * ReplicaSets and the Deployment's status and revision annotation, never pods: the ReplicaSet
 * controller makes those. Also exports what `kctl rollout` needs to speak the same language
 * (rollback planning, history, status messages, annotation names).
 */
export { DeploymentController, type DeploymentControllerOptions } from "./controller.js";
export { FencepostError, maxSurge, maxUnavailable, resolveFenceposts } from "./fenceposts.js";
export { type DeploymentControllerDeps, startDeploymentController } from "./start.js";
export { deploymentsResource } from "./sync.js";
