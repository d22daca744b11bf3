/**
 * The CronJob controller (batch/v1 CronJob): starts a Job from the template at each scheduled time
 * (standard cron syntax and macros, an IANA timeZone), honouring concurrencyPolicy,
 * startingDeadlineSeconds, suspend and the history limits, and catching up at most one missed run
 * after an outage. It creates and deletes only Jobs it owns; the Job controller runs their pods.
 */

export { CronJobController, type CronJobControllerOptions, cronJobsResource } from "./controller.js";
export { jobFromTemplate, jobName, scheduledTimestampAnnotation } from "./job-from-template.js";
export { dueTime, manyMissedThreshold } from "./schedule-times.js";
export { type CronJobControllerDeps, startCronJobController } from "./start.js";
