/**
 * The Job controller (batch/v1 Job): creates a Job's pods from its template, counts their
 * successes and failures exactly once through the job-tracking finalizer, retries with backoff,
 * runs Indexed Jobs one pod per completion index, honours suspend, activeDeadlineSeconds,
 * backoffLimit, podFailurePolicy and successPolicy, and reports status and conditions as upstream.
 * It never deletes Jobs (the TTL-after-finished controller and the garbage collector do) and never
 * schedules or runs pods.
 */

export { remainingBackoffMs } from "./backoff.js";
export { isFinished } from "./conditions.js";
export {
  JobController,
  type JobControllerOptions,
  jobControllerName,
  jobsResource,
  podsResource,
} from "./controller.js";
export { completionIndexAnnotation, podForJob, trackingFinalizer } from "./pod-template.js";
export { type JobControllerDeps, startJobController } from "./start.js";
