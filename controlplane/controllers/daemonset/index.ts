/**
 * The DaemonSet controller: one pod of a DaemonSet's template on every node its placement rules
 * allow (nodeSelector, required node affinity, taints against its tolerations plus the daemon
 * ones), rolled out node by node (RollingUpdate with maxUnavailable or maxSurge, or OnDelete), its
 * templates kept as ControllerRevisions for `rollout undo`. It never binds pods (the default
 * scheduler does, led by a required affinity on the node's name) and never deletes DaemonSets.
 */
export {
  controllerRevisionsResource,
  DaemonSetController,
  type DaemonSetControllerOptions,
  daemonSetsResource,
  nodesResource,
  podsResource,
} from "./controller.js";
export { daemonTolerations, newDaemonPod, nodeNameAffinity, targetNodeName } from "./daemon-pod.js";
export { placementFor } from "./eligibility.js";
export { type DaemonSetControllerDeps, startDaemonSetController } from "./start.js";
