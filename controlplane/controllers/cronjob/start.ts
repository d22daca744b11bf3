/** Starts the CronJob controller for one leadership term over the shared Job and CronJob informers. */

import { realClock } from "../../../foundation/util/clock.js";
import type { CronJob, Job } from "../../../proto/gen/api.js";
import {
  byOwnerUidIndex,
  type ControllerRunDeps,
  handle,
  type Informer,
  requireIndex,
  type StartedController,
  startController,
} from "../../client/index.js";
import { CronJobController } from "./controller.js";

export interface CronJobControllerDeps extends ControllerRunDeps {
  jobs: Informer<Job>;
  cronJobs: Informer<CronJob>;
}

export function startCronJobController(deps: CronJobControllerDeps): StartedController<CronJobController> {
  const { jobs, cronJobs } = deps;
  requireIndex(jobs, byOwnerUidIndex);
  return startController(deps, {
    name: "cronjob",
    build: (queue) =>
      new CronJobController({
        jobs: jobs.lister,
        cronJobs: cronJobs.lister,
        client: deps.client,
        recorder: deps.recorder,
        clock: deps.clock ?? realClock,
        queue,
      }),
    handlers: (c) => [handle(jobs, c.jobHandler), handle(cronJobs, c.cronJobHandler)],
  });
}
