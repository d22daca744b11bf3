/**
 * Seeds the LoadBalancer pool ConfigMap (kube-system/load-balancer-pool) from `kctl up
 * --load-balancer-pool` at control-plane start, as the default StorageClass is made: only when the
 * cluster has none, never over a pool an admin made or edited since. From then on the ConfigMap is
 * the pool, changed live with `kubectl edit`; the flag is how a cluster starts with one.
 */

import { isApiError } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { resourceForKind } from "../../foundation/api/resources.js";
import type { ConfigMap } from "../../proto/gen/api.js";
import { parsePool, poolConfigMap, poolKey, poolNamespace } from "../controllers/load-balancer/index.js";
import type { Registry } from "../registry/index.js";

/** Creates the pool ConfigMap holding `addresses` unless one exists; a bad pool throws PoolError first. */
export async function ensureLoadBalancerPool(registry: Registry, addresses: string): Promise<void> {
  parsePool(addresses);
  const cm: ConfigMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: poolConfigMap, namespace: poolNamespace },
    data: { [poolKey]: addresses },
  };
  try {
    await registry.create(resourceForKind("v1", "ConfigMap")!, cm as KubeObject);
  } catch (err) {
    if (!isApiError(err, "AlreadyExists")) throw err;
  }
}
