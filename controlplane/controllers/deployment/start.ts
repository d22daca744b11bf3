/**
 * Wires the Deployment controller in one call: caches (shared or private) of Deployments,
 * ReplicaSets and pods, event handlers, the work queue and its workers. The integrator calls
 * `startDeploymentController` once per leadership term with that term's abort signal.
 */
import type { Deployment, Pod, ReplicaSet } from "../../../proto/gen/api.js";
import { realClock } from "../../util/clock.js";
import {
  type ControllerRunDeps,
  checkSources,
  handleUntil,
  type InformerSource,
  informerFor,
  newRunner,
  type StartedController,
} from "../replicaset/index.js";
import { DeploymentController } from "./controller.js";

export interface DeploymentControllerDeps extends ControllerRunDeps {
  deployments: InformerSource<Deployment>;
  replicaSets: InformerSource<ReplicaSet>;
  pods: InformerSource<Pod>;
}

export function startDeploymentController(
  deps: DeploymentControllerDeps,
): StartedController<DeploymentController> {
  checkSources(deps.deployments, deps.replicaSets, deps.pods);
  const clock = deps.clock ?? realClock;
  const base = { clock, signal: deps.signal, ...(deps.resyncMs ? { resyncMs: deps.resyncMs } : {}) };
  const deployments = informerFor(deps.deployments, { name: "deployments", ...base });
  const replicaSets = informerFor(deps.replicaSets, { name: "replicasets", ...base });
  const pods = informerFor(deps.pods, { name: "pods", ...base });
  const runner = newRunner("deployment", deps, (key) => controller.sync(key));
  const controller = new DeploymentController({
    deployments: deployments.lister,
    replicaSets: replicaSets.lister,
    pods: pods.lister,
    client: deps.client,
    recorder: deps.recorder,
    clock,
    queue: runner.queue,
  });
  handleUntil(deployments, controller.deploymentHandler, deps.signal);
  handleUntil(replicaSets, controller.replicaSetHandler, deps.signal);
  handleUntil(pods, controller.podHandler, deps.signal);
  const done = runner.run(deps.signal, [deployments, replicaSets, pods]);
  return { controller, runner, done };
}
