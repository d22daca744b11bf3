/**
 * The node lifecycle controller and its NoExecute taint manager: nodes whose heartbeat Lease goes
 * stale turn Unknown and get the `node.kubernetes.io/unreachable` taints; pods on NoExecute-tainted
 * nodes are evicted when their tolerations run out. It owns the health conditions it writes for
 * silent nodes and the not-ready/unreachable taints; it never sets a node Ready (its agent does).
 */
export {
  defaultLeaseNamespace,
  defaultNodeGracePeriodMs,
  type EvictionDeleteOptions,
  NodeLifecycleController,
  type NodeLifecycleControllerOptions,
} from "./node-lifecycle-controller.js";
export { type NodeLifecycleControllerDeps, startNodeLifecycleController } from "./start.js";
export { defaultTolerationSeconds, notReadyTaintKey, unreachableTaintKey } from "./taint-eviction.js";
