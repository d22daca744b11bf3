/** Job: runs pods from one template until enough of them succeed (the Job controller). */

import type { Job, JobCondition } from "../../proto/gen/api.js";
import { defaultJob } from "../api/batch-defaults.js";
import { validateJob, validateJobUpdate } from "../api/validation/batch.js";
import { humanDuration } from "../printers/age.js";
import { created, none, templateWide } from "../printers/cells.js";
import { conditions, podTemplate, selectorText } from "../printers/describe-sections.js";
import { describeTime } from "../printers/describe-writer.js";
import { defineKind } from "./kind.js";

const hasCondition = (list: readonly JobCondition[] | undefined, type: string) =>
  (list ?? []).some((c) => c.type === type && c.status === "True");

/** The STATUS cell, as kubectl v1.32 words it: terminal conditions first, then Terminating. */
function jobStatus(job: Job): string {
  const list = job.status?.conditions;
  if (hasCondition(list, "Complete")) return "Complete";
  if (hasCondition(list, "Failed")) return "Failed";
  if (job.metadata.deletionTimestamp) return "Terminating";
  if (hasCondition(list, "Suspended")) return "Suspended";
  if (hasCondition(list, "FailureTarget")) return "FailureTarget";
  if (hasCondition(list, "SuccessCriteriaMet")) return "SuccessCriteriaMet";
  return "Running";
}

/** COMPLETIONS: `2/6`, or for a work-queue Job (no completions) `0/1 of 3`. */
function completionsCell(job: Job): string {
  const succeeded = job.status?.succeeded ?? 0;
  const spec = job.spec ?? {};
  if (spec.completions !== undefined) return `${succeeded}/${spec.completions}`;
  const parallelism = spec.parallelism ?? 1;
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

/** How long the Job ran: until completionTime, or until now while it runs; empty before it started. */
function duration(job: Job, now: number): string {
  const start = job.status?.startTime;
  if (!start) return "";
  const end = job.status?.completionTime ? Date.parse(job.status.completionTime) : now;
  return humanDuration(end - Date.parse(start));
}

export const jobKind = defineKind<Job>({
  resource: {
    group: "batch",
    version: "v1",
    kind: "Job",
    plural: "jobs",
    singular: "job",
    shortNames: [],
    namespaced: true,
    subresources: ["status"],
    message: "kctl.api.Job",
    hasStatus: true,
  },
  defaults: defaultJob,
  validate: (c, job, old) => {
    validateJob(c, job);
    if (old) validateJobUpdate(c, job, old);
  },
  columns: {
    headers: ["STATUS", "COMPLETIONS", "DURATION", "AGE"],
    wideHeaders: ["CONTAINERS", "IMAGES", "SELECTOR"],
    cells: (job, now) => [jobStatus(job), completionsCell(job), duration(job, now), created(job, now)],
    wideCells: (job) => templateWide(job.spec?.template, job.spec?.selector),
  },
  describe: (w, job) => {
    const spec = job.spec ?? {};
    const s = job.status ?? {};
    w.field(0, "Selector", selectorText(spec.selector));
    w.field(0, "Parallelism", spec.parallelism ?? 1);
    w.field(0, "Completions", spec.completions === undefined ? "<unset>" : spec.completions);
    w.field(0, "Completion Mode", spec.completionMode ?? "NonIndexed");
    w.field(0, "Suspend", String(spec.suspend ?? false));
    w.field(0, "Backoff Limit", spec.backoffLimit ?? 6);
    if (spec.backoffLimitPerIndex !== undefined)
      w.field(0, "Backoff Limit Per Index", spec.backoffLimitPerIndex);
    if (spec.maxFailedIndexes !== undefined) w.field(0, "Max Failed Indexes", spec.maxFailedIndexes);
    if (spec.ttlSecondsAfterFinished !== undefined)
      w.field(0, "TTL Seconds After Finished", spec.ttlSecondsAfterFinished);
    if (s.startTime) w.field(0, "Start Time", describeTime(s.startTime));
    if (s.completionTime) {
      w.field(0, "Completed At", describeTime(s.completionTime));
      if (s.startTime)
        w.field(0, "Duration", humanDuration(Date.parse(s.completionTime) - Date.parse(s.startTime)));
    }
    if (spec.activeDeadlineSeconds !== undefined)
      w.field(0, "Active Deadline Seconds", `${spec.activeDeadlineSeconds}s`);
    const terminating = s.terminating ? ` / ${s.terminating} Terminating` : "";
    w.field(
      0,
      "Pods Statuses",
      `${s.active ?? 0} Active (${s.ready ?? 0} Ready) / ${s.succeeded ?? 0} Succeeded / ${s.failed ?? 0} Failed${terminating}`,
    );
    if (spec.completionMode === "Indexed") {
      w.field(0, "Completed Indexes", s.completedIndexes || none);
      if (spec.backoffLimitPerIndex !== undefined) w.field(0, "Failed Indexes", s.failedIndexes || none);
    }
    podTemplate(w, spec.template);
    conditions(w, s.conditions, true);
  },
});
