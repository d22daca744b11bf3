/** Starts the StatefulSet controller for one leadership term. */

import { realClock } from "../../../foundation/util/clock.js";
import type { ControllerRevision, PersistentVolumeClaim, Pod, StatefulSet } from "../../../proto/gen/api.js";
import {
  byOwnerUidIndex,
  type ControllerRunDeps,
  handle,
  type Informer,
  requireIndex,
  type StartedController,
  startController,
} from "../../client/index.js";
import { StatefulSetController } from "./controller.js";

export interface StatefulSetControllerDeps extends ControllerRunDeps {
  sets: Informer<StatefulSet>;
  pods: Informer<Pod>;
  claims: Informer<PersistentVolumeClaim>;
  revisions: Informer<ControllerRevision>;
}

export function startStatefulSetController(
  deps: StatefulSetControllerDeps,
): StartedController<StatefulSetController> {
  requireIndex(deps.revisions, byOwnerUidIndex);
  return startController(deps, {
    name: "statefulset",
    build: (queue) =>
      new StatefulSetController({
        sets: deps.sets.lister,
        pods: deps.pods.lister,
        claims: deps.claims.lister,
        revisions: deps.revisions.lister,
        client: deps.client,
        recorder: deps.recorder,
        clock: deps.clock ?? realClock,
        queue,
      }),
    handlers: (c) => [
      handle(deps.sets, c.setHandler),
      handle(deps.pods, c.podHandler),
      handle(deps.revisions, c.revisionHandler),
      // Claims are read from their cache when pods are made; their events need no sync.
      handle(deps.claims, {}),
    ],
  });
}
