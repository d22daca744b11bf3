/**
 * The CronJob controller: starts a Job from each CronJob's template at its scheduled times. One
 * `sync(key)`, as upstream's syncCronJob:
 *  1. reconciles status.active with the Jobs the CronJob owns (finished ones leave it, missing
 *     ones too, lastSuccessfulTime follows the latest completion);
 *  2. unless deleting or suspended, finds the scheduled time due now (schedule-times.ts), skips it
 *     when past startingDeadlineSeconds, already started, or Forbid with a run still active,
 *     deletes the active runs first under Replace, and creates the Job named for that time;
 *  3. deletes the oldest finished Jobs beyond the history limits;
 *  4. writes status and requeues itself for just after the next scheduled time.
 * Event handlers only enqueue keys; the injected clock is the only source of time.
 */

import {
  type CronSchedule,
  CronScheduleError,
  parseCronSchedule,
} from "../../../foundation/api/cron-schedule.js";
import { isApiError } from "../../../foundation/api/errors.js";
import { objectKey } from "../../../foundation/api/object.js";
import { controllerRefOf } from "../../../foundation/api/owner-references.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import type { Clock } from "../../../foundation/util/clock.js";
import { parseTime, rfc3339 } from "../../../foundation/util/time.js";
import type { CronJob, CronJobStatus, Job, ObjectReference } from "../../../proto/gen/api.js";
import {
  byOwnerUidIndex,
  type ControllerClient,
  type DeepReadonly,
  type EventHandler,
  type EventRecorder,
  type Lister,
} from "../../client/index.js";
import { findCondition, isFinished } from "../job/conditions.js";
import { jobsResource } from "../job/index.js";
import type { KeyQueue } from "../replicaset/index.js";
import { jobFromTemplate, jobName } from "./job-from-template.js";
import { dueTime, manyMissedThreshold, untilNext } from "./schedule-times.js";

export const cronJobsResource = resourceForKind("batch/v1", "CronJob")!;

type ReadonlyCronJob = DeepReadonly<CronJob>;
type ReadonlyJob = DeepReadonly<Job>;

export interface CronJobControllerOptions {
  /** Job cache; must carry the `byOwnerUid` index. */
  jobs: Lister<Job>;
  cronJobs: Lister<CronJob>;
  client: ControllerClient;
  recorder: EventRecorder;
  clock: Clock;
  queue: KeyQueue;
}

export class CronJobController {
  private readonly jobs: Lister<Job>;
  private readonly cronJobs: Lister<CronJob>;
  private readonly client: ControllerClient;
  private readonly recorder: EventRecorder;
  private readonly clock: Clock;
  private readonly queue: KeyQueue;

  constructor(opts: CronJobControllerOptions) {
    this.jobs = opts.jobs;
    this.cronJobs = opts.cronJobs;
    this.client = opts.client;
    this.recorder = opts.recorder;
    this.clock = opts.clock;
    this.queue = opts.queue;
  }

  readonly cronJobHandler: EventHandler<CronJob> = {
    onAdd: (cj) => this.queue.add(objectKey(cj)),
    onUpdate: (_old, cj) => this.queue.add(objectKey(cj)),
    onDelete: () => {},
  };

  readonly jobHandler: EventHandler<Job> = {
    onAdd: (job) => this.enqueueOwner(job),
    onUpdate: (old, job) => {
      this.enqueueOwner(job);
      if (controllerRefOf(old)?.uid !== controllerRefOf(job)?.uid) this.enqueueOwner(old);
    },
    onDelete: (job) => this.enqueueOwner(job),
  };

  /** Reconciles the CronJob under `key` ("namespace/name"). Throws to be retried with backoff. */
  async sync(key: string): Promise<void> {
    const cj = this.cronJobs.get(key);
    if (!cj) return;
    const now = this.clock.now();
    const status = structuredClone(cj.status ?? {}) as CronJobStatus;
    const owned = this.jobs
      .byIndex(byOwnerUidIndex, cj.metadata.uid ?? "")
      .filter((j) => controllerRefOf(j)?.uid === cj.metadata.uid);
    let errors: unknown[] = [];
    await this.reconcileActive(cj, owned, status);
    let requeueAfter: number | undefined;
    if (!cj.metadata.deletionTimestamp && cj.spec?.suspend !== true) {
      try {
        requeueAfter = await this.schedule(cj, status, now);
      } catch (err) {
        errors.push(err);
      }
    }
    errors = errors.concat(await this.cleanupHistory(cj, owned, status));
    if (!sameStatus(cj.status, status)) {
      const copy = structuredClone(cj) as CronJob;
      copy.status = status;
      await this.client.updateStatus(cronJobsResource, copy);
    }
    if (errors.length > 0) throw errors[0];
    if (requeueAfter !== undefined) this.queue.addAfter(key, requeueAfter);
  }

  /** Step 1: status.active holds exactly the owned Jobs still running; lastSuccessfulTime follows. */
  private async reconcileActive(
    cj: ReadonlyCronJob,
    owned: readonly ReadonlyJob[],
    status: CronJobStatus,
  ): Promise<void> {
    const active = new Set((status.active ?? []).map((r) => r.uid));
    const present = new Set<string>();
    for (const job of owned) {
      const uid = job.metadata.uid ?? "";
      present.add(uid);
      const finished = isFinished(job.status);
      if (!active.has(uid) && !finished) {
        this.recorder.event(
          cj,
          "Warning",
          "UnexpectedJob",
          `Saw a job that the controller did not create or forgot: ${job.metadata.name}`,
        );
      } else if (active.has(uid) && finished) {
        const condition = findCondition(job.status, "Complete")?.status === "True" ? "Complete" : "Failed";
        status.active = (status.active ?? []).filter((r) => r.uid !== uid);
        this.recorder.event(
          cj,
          "Normal",
          "SawCompletedJob",
          `Saw completed job: ${job.metadata.name}, condition: ${condition}`,
        );
      } else if (finished) {
        const completedAt = job.status?.completionTime;
        const completed = parseTime(completedAt);
        const last = parseTime(status.lastSuccessfulTime);
        if (completedAt !== undefined && completed !== undefined && (last === undefined || completed > last))
          status.lastSuccessfulTime = completedAt;
      }
    }
    for (const ref of [...(status.active ?? [])]) {
      if (present.has(ref.uid ?? "")) continue;
      // The cache may lag behind a Job just created: ask the server before forgetting it.
      try {
        await this.client.get(jobsResource, ref.namespace ?? "", ref.name ?? "");
      } catch (err) {
        if (!isApiError(err, "NotFound")) throw err;
        this.recorder.event(cj, "Normal", "MissingJob", `Active job went missing: ${ref.name}`);
        status.active = (status.active ?? []).filter((r) => r.uid !== ref.uid);
      }
    }
    if (status.active?.length === 0) delete status.active;
  }

  /** Step 2: starts the run due now, if any. Returns when to look again (ms), if ever. */
  private async schedule(
    cj: ReadonlyCronJob,
    status: CronJobStatus,
    now: number,
  ): Promise<number | undefined> {
    const spec = cj.spec ?? {};
    let schedule: CronSchedule;
    try {
      schedule = parseCronSchedule(spec.schedule ?? "", spec.timeZone);
    } catch (err) {
      if (!(err instanceof CronScheduleError)) throw err;
      // Validation keeps these out; one that got in waits for the user to fix the spec.
      if (spec.timeZone !== undefined && err.message.includes("time zone"))
        this.recorder.event(
          cj,
          "Warning",
          "UnknownTimeZone",
          `invalid timeZone: ${JSON.stringify(spec.timeZone)}: ${err.message}`,
        );
      else
        this.recorder.event(
          cj,
          "Warning",
          "UnparseableSchedule",
          `unparseable schedule: ${JSON.stringify(spec.schedule)} : ${err.message}`,
        );
      return undefined;
    }
    const earliest = parseTime(status.lastScheduleTime) ?? parseTime(cj.metadata.creationTimestamp) ?? now;
    const due = dueTime(schedule, earliest, now, spec.startingDeadlineSeconds);
    const next = untilNext(schedule, now);
    if (due.mostRecent === undefined) return next;
    if (due.missed > manyMissedThreshold) {
      this.recorder.event(
        cj,
        "Warning",
        "TooManyMissedTimes",
        "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
      );
    }
    const scheduled = due.mostRecent;
    if (spec.startingDeadlineSeconds !== undefined && scheduled + spec.startingDeadlineSeconds * 1000 < now) {
      this.recorder.event(
        cj,
        "Warning",
        "MissSchedule",
        `Missed scheduled time to start a job: ${new Date(scheduled).toUTCString()}`,
      );
      return next;
    }
    const name = jobName(cj, scheduled);
    if (
      (status.active ?? []).some((r) => r.name === name) ||
      parseTime(status.lastScheduleTime) === scheduled
    ) {
      return next;
    }
    if (spec.concurrencyPolicy === "Forbid" && (status.active?.length ?? 0) > 0) {
      this.recorder.event(
        cj,
        "Normal",
        "JobAlreadyActive",
        "Not starting job because prior execution is running and concurrency policy is Forbid",
      );
      return next;
    }
    if (spec.concurrencyPolicy === "Replace") {
      for (const ref of [...(status.active ?? [])]) await this.deleteJob(cj, ref, status);
    }
    let created: Job;
    try {
      created = await this.client.create(
        jobsResource,
        cj.metadata.namespace ?? "",
        jobFromTemplate(cj, scheduled),
      );
      this.recorder.event(cj, "Normal", "SuccessfulCreate", `Created job ${created.metadata.name}`);
    } catch (err) {
      if (!isApiError(err, "AlreadyExists")) {
        this.recorder.event(cj, "Warning", "FailedCreate", `Error creating job: ${(err as Error).message}`);
        throw err;
      }
      // Created by an earlier sync whose status write was lost, or by someone else.
      const existing = await this.client.get<Job>(jobsResource, cj.metadata.namespace ?? "", name);
      if (controllerRefOf(existing)?.uid !== cj.metadata.uid) return next;
      if ((status.active ?? []).some((r) => r.uid === existing.metadata.uid)) return next;
      created = existing;
    }
    status.active = [...(status.active ?? []), jobRef(created)];
    status.lastScheduleTime = rfc3339(scheduled);
    return next;
  }

  /** Step 3: deletes the oldest finished Jobs beyond successful/failedJobsHistoryLimit. */
  private async cleanupHistory(
    cj: ReadonlyCronJob,
    owned: readonly ReadonlyJob[],
    status: CronJobStatus,
  ): Promise<unknown[]> {
    const spec = cj.spec ?? {};
    const errors: unknown[] = [];
    const groups: [ReadonlyJob[], number | undefined][] = [
      [
        owned.filter((j) => findCondition(j.status, "Complete")?.status === "True"),
        spec.successfulJobsHistoryLimit,
      ],
      [
        owned.filter((j) => findCondition(j.status, "Failed")?.status === "True"),
        spec.failedJobsHistoryLimit,
      ],
    ];
    for (const [finished, limit] of groups) {
      if (limit === undefined || finished.length <= limit) continue;
      const oldestFirst = [...finished].sort(byStartTime);
      for (const job of oldestFirst.slice(0, finished.length - limit)) {
        if (job.metadata.deletionTimestamp) continue;
        try {
          await this.deleteJob(cj, jobRef(job), status);
        } catch (err) {
          errors.push(err);
        }
      }
    }
    return errors;
  }

  /** Deletes one Job with its pods in the background and drops it from status.active. */
  private async deleteJob(
    cj: ReadonlyCronJob,
    ref: DeepReadonly<ObjectReference>,
    status: CronJobStatus,
  ): Promise<void> {
    try {
      await this.client.delete(jobsResource, ref.namespace ?? "", ref.name ?? "", {
        ...(ref.uid ? { uid: ref.uid } : {}),
        propagationPolicy: "Background",
      });
      this.recorder.event(cj, "Normal", "SuccessfulDelete", `Deleted job ${ref.name}`);
    } catch (err) {
      if (!isApiError(err, "NotFound")) {
        this.recorder.event(cj, "Warning", "FailedDelete", `Deleted job: ${(err as Error).message}`);
        throw err;
      }
    }
    status.active = (status.active ?? []).filter((r) => r.uid !== ref.uid);
    if (status.active.length === 0) delete status.active;
  }

  private enqueueOwner(job: ReadonlyJob): void {
    const ref = controllerRefOf(job);
    if (ref?.kind !== "CronJob") return;
    const key = objectKey({ metadata: { namespace: job.metadata.namespace, name: ref.name } });
    const cj = this.cronJobs.get(key);
    if (cj && cj.metadata.uid === ref.uid) this.queue.add(key);
  }
}

function jobRef(job: DeepReadonly<Job>): ObjectReference {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    namespace: job.metadata.namespace ?? "",
    name: job.metadata.name ?? "",
    uid: job.metadata.uid ?? "",
    resourceVersion: job.metadata.resourceVersion ?? "",
  };
}

/** Oldest start first; Jobs that never started sort last, then by name (upstream's byJobStartTime). */
function byStartTime(a: ReadonlyJob, b: ReadonlyJob): number {
  const sa = parseTime(a.status?.startTime);
  const sb = parseTime(b.status?.startTime);
  if (sa === undefined && sb !== undefined) return 1;
  if (sa !== undefined && sb === undefined) return -1;
  if (sa !== undefined && sb !== undefined && sa !== sb) return sa - sb;
  return (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");
}

function sameStatus(current: DeepReadonly<CronJobStatus> | undefined, next: CronJobStatus): boolean {
  const norm = (s: DeepReadonly<CronJobStatus> | undefined) => ({
    active: (s?.active ?? []).map((r) => r.uid),
    lastScheduleTime: s?.lastScheduleTime,
    lastSuccessfulTime: s?.lastSuccessfulTime,
  });
  return JSON.stringify(norm(current)) === JSON.stringify(norm(next));
}
