/**
 * Starts the Deployment controller for one leadership term: the shared Deployment, ReplicaSet and
 * pod informers (ReplicaSets and pods carrying the byOwnerUid index), their handlers and the
 * workers. The integrator calls `startDeploymentController` each time it starts leading, with that
 * term's abort signal.
 */

import { realClock } from "../../../foundation/util/clock.js";
import type { Deployment, Pod, ReplicaSet } from "../../../proto/gen/api.js";
import {
  byOwnerUidIndex,
  type ControllerRunDeps,
  handle,
  type Informer,
  requireIndex,
  type StartedController,
  startController,
} from "../../client/index.js";
import { DeploymentController } from "./controller.js";

export interface DeploymentControllerDeps extends ControllerRunDeps {
  deployments: Informer<Deployment>;
  replicaSets: Informer<ReplicaSet>;
  pods: Informer<Pod>;
}

export function startDeploymentController(
  deps: DeploymentControllerDeps,
): StartedController<DeploymentController> {
  const { deployments, replicaSets, pods } = deps;
  for (const informer of [deployments, replicaSets, pods]) requireIndex(informer, byOwnerUidIndex);
  return startController(deps, {
    name: "deployment",
    build: (queue) =>
      new DeploymentController({
        deployments: deployments.lister,
        replicaSets: replicaSets.lister,
        pods: pods.lister,
        client: deps.client,
        recorder: deps.recorder,
        clock: deps.clock ?? realClock,
        queue,
      }),
    handlers: (c) => [
      handle(deployments, c.deploymentHandler),
      handle(replicaSets, c.replicaSetHandler),
      handle(pods, c.podHandler),
    ],
  });
}
