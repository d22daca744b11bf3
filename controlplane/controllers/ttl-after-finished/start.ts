/** Starts the TTL-after-finished controller for one leadership term over the shared Job informer. */

import { realClock } from "../../../foundation/util/clock.js";
import type { Job } from "../../../proto/gen/api.js";
import {
  type ControllerRunDeps,
  handle,
  type Informer,
  type StartedController,
  startController,
} from "../../client/index.js";
import { TtlAfterFinishedController } from "./controller.js";

export interface TtlAfterFinishedDeps extends ControllerRunDeps {
  jobs: Informer<Job>;
}

export function startTtlAfterFinishedController(
  deps: TtlAfterFinishedDeps,
): StartedController<TtlAfterFinishedController> {
  const { jobs } = deps;
  return startController(deps, {
    name: "ttl-after-finished",
    build: (queue) =>
      new TtlAfterFinishedController({
        jobs: jobs.lister,
        client: deps.client,
        clock: deps.clock ?? realClock,
        queue,
      }),
    handlers: (c) => [handle(jobs, c.jobHandler)],
  });
}
