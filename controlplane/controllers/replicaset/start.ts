/**
 * Starts the ReplicaSet controller for one leadership term: the shared pod and ReplicaSet informers
 * (both carrying the byOwnerUid index), their handlers and the workers. The integrator calls
 * `startReplicaSetController` each time it starts leading, with that term's abort signal.
 */

import { realClock } from "../../../foundation/util/clock.js";
import type { Pod, ReplicaSet } from "../../../proto/gen/api.js";
import {
  byOwnerUidIndex,
  type ControllerRunDeps,
  handle,
  type Informer,
  requireIndex,
  type StartedController,
  startController,
} from "../../client/index.js";
import { ReplicaSetController } from "./controller.js";

export interface ReplicaSetControllerDeps extends ControllerRunDeps {
  pods: Informer<Pod>;
  replicaSets: Informer<ReplicaSet>;
}

export function startReplicaSetController(
  deps: ReplicaSetControllerDeps,
): StartedController<ReplicaSetController> {
  const { pods, replicaSets } = deps;
  for (const informer of [pods, replicaSets]) requireIndex(informer, byOwnerUidIndex);
  return startController(deps, {
    name: "replicaset",
    build: (queue) =>
      new ReplicaSetController({
        pods: pods.lister,
        replicaSets: replicaSets.lister,
        client: deps.client,
        recorder: deps.recorder,
        clock: deps.clock ?? realClock,
        queue,
      }),
    handlers: (c) => [handle(pods, c.podHandler), handle(replicaSets, c.replicaSetHandler)],
  });
}
