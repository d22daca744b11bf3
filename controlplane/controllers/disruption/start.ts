/**
 * Starts the disruption controller for one leadership term: the shared PodDisruptionBudget and pod
 * informers (with the ReplicaSet, Deployment and DaemonSet ones for scales), handlers and workers.
 */

import { realClock } from "../../../foundation/util/clock.js";
import type {
  DaemonSet,
  Deployment,
  Pod,
  PodDisruptionBudget,
  ReplicaSet,
  StatefulSet,
} from "../../../proto/gen/api.js";
import {
  type ControllerRunDeps,
  handle,
  type Informer,
  type StartedController,
  startController,
} from "../../client/index.js";
import { DisruptionController } from "./controller.js";

export interface DisruptionControllerDeps extends ControllerRunDeps {
  budgets: Informer<PodDisruptionBudget>;
  pods: Informer<Pod>;
  replicaSets: Informer<ReplicaSet>;
  deployments: Informer<Deployment>;
  daemonSets: Informer<DaemonSet>;
  statefulSets: Informer<StatefulSet>;
}

export function startDisruptionController(
  deps: DisruptionControllerDeps,
): StartedController<DisruptionController> {
  return startController(deps, {
    name: "disruption",
    build: (queue) =>
      new DisruptionController({
        budgets: deps.budgets.lister,
        pods: deps.pods.lister,
        replicaSets: deps.replicaSets.lister,
        deployments: deps.deployments.lister,
        daemonSets: deps.daemonSets.lister,
        statefulSets: deps.statefulSets.lister,
        client: deps.client,
        recorder: deps.recorder,
        clock: deps.clock ?? realClock,
        queue,
      }),
    handlers: (c) => [handle(deps.budgets, c.budgetHandler), handle(deps.pods, c.podHandler)],
  });
}
