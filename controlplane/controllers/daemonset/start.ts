/**
 * Starts the DaemonSet controller for one leadership term: the shared DaemonSet, pod, node and
 * ControllerRevision informers, their handlers and the workers. The integrator calls
 * `startDaemonSetController` each time it starts leading, with that term's abort signal.
 */

import { realClock } from "../../../foundation/util/clock.js";
import type { ControllerRevision, DaemonSet, Node, Pod } from "../../../proto/gen/api.js";
import {
  byOwnerUidIndex,
  type ControllerRunDeps,
  handle,
  type Informer,
  requireIndex,
  type StartedController,
  startController,
} from "../../client/index.js";
import { DaemonSetController } from "./controller.js";

export interface DaemonSetControllerDeps extends ControllerRunDeps {
  daemonSets: Informer<DaemonSet>;
  pods: Informer<Pod>;
  nodes: Informer<Node>;
  revisions: Informer<ControllerRevision>;
}

export function startDaemonSetController(
  deps: DaemonSetControllerDeps,
): StartedController<DaemonSetController> {
  const { daemonSets, pods, nodes, revisions } = deps;
  requireIndex(pods, byOwnerUidIndex);
  return startController(deps, {
    name: "daemonset",
    build: (queue) =>
      new DaemonSetController({
        daemonSets: daemonSets.lister,
        pods: pods.lister,
        nodes: nodes.lister,
        revisions: revisions.lister,
        client: deps.client,
        recorder: deps.recorder,
        clock: deps.clock ?? realClock,
        queue,
      }),
    handlers: (c) => [
      handle(daemonSets, c.daemonSetHandler),
      handle(pods, c.podHandler),
      handle(nodes, c.nodeHandler),
      handle(revisions, c.revisionHandler),
    ],
  });
}
