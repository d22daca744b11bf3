/**
 * The LoadBalancer address controller: assigns `type: LoadBalancer` Services (of no other
 * `loadBalancerClass`) an address from the pool in ConfigMap kube-system/load-balancer-pool and
 * writes it to `status.loadBalancer.ingress`. It never writes a Service's spec and never touches a
 * host; announcing the addresses is the node agents' job.
 */

export {
  type Pool,
  PoolError,
  parsePool,
  poolConfigMap,
  poolKey,
  poolNamespace,
} from "../../../foundation/api/load-balancer-pool.js";
export {
  isOurLoadBalancer,
  LoadBalancerController,
  type LoadBalancerControllerOptions,
} from "./controller.js";
export { type LoadBalancerControllerDeps, startLoadBalancerController } from "./start.js";
