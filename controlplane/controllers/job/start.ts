/**
 * Starts the Job controller for one leadership term: the shared pod and Job informers, their
 * handlers and the workers.
 */

import { realClock } from "../../../foundation/util/clock.js";
import type { Job, Pod } from "../../../proto/gen/api.js";
import {
  byOwnerUidIndex,
  type ControllerRunDeps,
  handle,
  type Informer,
  requireIndex,
  type StartedController,
  startController,
} from "../../client/index.js";
import { JobController } from "./controller.js";

export interface JobControllerDeps extends ControllerRunDeps {
  pods: Informer<Pod>;
  jobs: Informer<Job>;
}

export function startJobController(deps: JobControllerDeps): StartedController<JobController> {
  const { pods, jobs } = deps;
  requireIndex(pods, byOwnerUidIndex);
  return startController(deps, {
    name: "job",
    build: (queue) =>
      new JobController({
        pods: pods.lister,
        jobs: jobs.lister,
        client: deps.client,
        recorder: deps.recorder,
        clock: deps.clock ?? realClock,
        queue,
      }),
    handlers: (c) => [handle(pods, c.podHandler), handle(jobs, c.jobHandler)],
  });
}
