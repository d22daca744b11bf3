/** Starts the PersistentVolume controller for one leadership term. */

import { realClock } from "../../../foundation/util/clock.js";
import type { Node, PersistentVolume, PersistentVolumeClaim, StorageClass } from "../../../proto/gen/api.js";
import {
  type ControllerRunDeps,
  handle,
  type Informer,
  type StartedController,
  startController,
} from "../../client/index.js";
import { VolumeController } from "./controller.js";

export interface VolumeControllerDeps extends ControllerRunDeps {
  claims: Informer<PersistentVolumeClaim>;
  volumes: Informer<PersistentVolume>;
  classes: Informer<StorageClass>;
  nodes: Informer<Node>;
}

export function startVolumeController(deps: VolumeControllerDeps): StartedController<VolumeController> {
  return startController(deps, {
    name: "persistentvolume-binder",
    build: (queue) =>
      new VolumeController({
        claims: deps.claims.lister,
        volumes: deps.volumes.lister,
        classes: deps.classes.lister,
        nodes: deps.nodes.lister,
        client: deps.client,
        recorder: deps.recorder,
        clock: deps.clock ?? realClock,
        queue,
      }),
    handlers: (c) => [
      handle(deps.claims, c.claimHandler),
      handle(deps.volumes, c.volumeHandler),
      handle(deps.classes, c.classHandler),
    ],
  });
}
