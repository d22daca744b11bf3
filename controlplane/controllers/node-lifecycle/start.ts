/**
 * Starts the node lifecycle controller for one leadership term: the shared Node, Lease and Pod
 * informers, its handlers and the workers. The integrator calls `startNodeLifecycleController` each
 * time it starts leading; the grace period counts from that call.
 */

import type { KubeObject } from "../../../foundation/api/object.js";
import { realClock } from "../../../foundation/util/clock.js";
import type { Lease, Node, Pod } from "../../../proto/gen/api.js";
import {
  byNodeNameIndex,
  type ControllerRunDeps,
  type EventHandler,
  handle,
  type InformerFactory,
  requireIndex,
  type StartedController,
  startController,
} from "../../client/index.js";
import { leasesResource, NodeLifecycleController, nodesResource } from "./node-lifecycle-controller.js";

export interface NodeLifecycleControllerDeps extends ControllerRunDeps {
  /** The shared informer factory (its pod informer carries the byNodeName index). */
  informers: Pick<InformerFactory, "informer" | "pods">;
  /** Namespace of the nodes' heartbeat Leases; default kube-node-lease. */
  leaseNamespace?: string;
  /** How long a lease may go unrenewed before the node turns Unknown; default 40 000 ms. */
  gracePeriodMs?: number;
  /** tolerationSeconds of the defaulted not-ready/unreachable tolerations; default 300. */
  defaultTolerationSeconds?: number;
}

/**
 * Starts the controller's workers until `deps.signal` aborts. Deps: `informers`, `client`
 * (updateStatus and patch of Nodes; delete of Pods, which must forward `gracePeriodSeconds`, see
 * `EvictionDeleteOptions`), `recorder` (component "node-controller"), `signal`; optionally `clock`
 * (judges leases and drives the wake-ups), `workers` (default 5), `metrics`, `onError`, and the
 * three tunables above.
 */
export function startNodeLifecycleController(
  deps: NodeLifecycleControllerDeps,
): StartedController<NodeLifecycleController> {
  const nodes = deps.informers.informer<Node & KubeObject>(nodesResource);
  const leases = deps.informers.informer<Lease & KubeObject>(leasesResource);
  const pods = deps.informers.pods();
  // Fails now, naming the missing index, rather than on the first eviction.
  requireIndex(pods, byNodeNameIndex);
  return startController(deps, {
    name: "node-lifecycle",
    build: (queue) =>
      new NodeLifecycleController({
        nodes: nodes.lister,
        leases: leases.lister,
        pods: pods.lister,
        client: deps.client,
        recorder: deps.recorder,
        clock: deps.clock ?? realClock,
        queue,
        ...(deps.leaseNamespace !== undefined ? { leaseNamespace: deps.leaseNamespace } : {}),
        ...(deps.gracePeriodMs !== undefined ? { gracePeriodMs: deps.gracePeriodMs } : {}),
        ...(deps.defaultTolerationSeconds !== undefined
          ? { defaultTolerationSeconds: deps.defaultTolerationSeconds }
          : {}),
      }),
    handlers: (c) => [
      handle(nodes, c.nodeHandler as EventHandler<Node & KubeObject>),
      handle(leases, c.leaseHandler as EventHandler<Lease & KubeObject>),
      handle(pods, c.podHandler as EventHandler<Pod & KubeObject>),
    ],
  });
}
