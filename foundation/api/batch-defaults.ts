/**
 * Kubernetes' defaulting of Job and CronJob (upstream's batch/v1 SetDefaults and the Job strategy's
 * PrepareForCreate): a Job runs once (completions and parallelism 1) with six retries, NonIndexed,
 * not suspended; once the API has given it a uid and unless `manualSelector` is set, it selects its
 * own pods by `batch.kubernetes.io/controller-uid` and its template carries that label and the
 * job-name labels (old and new spellings, as upstream writes both); a Job without labels takes its
 * template's. A CronJob allows concurrent runs, keeps 3 succeeded and 1 failed Job, not suspended.
 * Idempotent: the generated selector and labels derive from the uid, so defaulting a stored Job
 * again changes nothing.
 */
import type { CronJob, Job, JobSpec } from "../../proto/gen/api.js";
import { defaultPod } from "./defaults.js";
import {
  controllerUidLabel,
  jobNameLabel,
  legacyControllerUidLabel,
  legacyJobNameLabel,
} from "./validation/batch.js";

/** backoffLimit with backoffLimitPerIndex set: per-index limits replace the global one. */
const maxInt32 = 2 ** 31 - 1;

export function defaultJob(job: Job): void {
  job.spec ??= {};
  const spec = job.spec;
  defaultJobSpec(spec);
  const uid = job.metadata.uid;
  if (uid && spec.manualSelector !== true) {
    spec.selector ??= {};
    spec.selector.matchLabels ??= {};
    spec.selector.matchLabels[controllerUidLabel] ??= uid;
    if (spec.template) {
      spec.template.metadata ??= {};
      spec.template.metadata.labels ??= {};
      const labels = spec.template.metadata.labels;
      labels[controllerUidLabel] ??= uid;
      labels[legacyControllerUidLabel] ??= uid;
      labels[jobNameLabel] ??= job.metadata.name ?? "";
      labels[legacyJobNameLabel] ??= job.metadata.name ?? "";
    }
  }
  if (Object.keys(job.metadata.labels ?? {}).length === 0 && spec.template?.metadata?.labels) {
    job.metadata.labels = { ...spec.template.metadata.labels };
  }
}

function defaultJobSpec(spec: JobSpec): void {
  if (spec.completions === undefined && spec.parallelism === undefined) spec.completions = 1;
  spec.parallelism ??= 1;
  spec.backoffLimit ??= spec.backoffLimitPerIndex === undefined ? 6 : maxInt32;
  spec.completionMode ??= "NonIndexed";
  spec.suspend ??= false;
  spec.manualSelector ??= false;
  spec.podReplacementPolicy ??= spec.podFailurePolicy ? "Failed" : "TerminatingOrFailed";
  for (const rule of spec.podFailurePolicy?.rules ?? []) {
    for (const pattern of rule.onPodConditions ?? []) pattern.status ??= "True";
  }
  if (spec.template) defaultPod(spec.template);
}

export function defaultCronJob(cj: CronJob): void {
  cj.spec ??= {};
  const spec = cj.spec;
  spec.concurrencyPolicy ??= "Allow";
  spec.suspend ??= false;
  spec.successfulJobsHistoryLimit ??= 3;
  spec.failedJobsHistoryLimit ??= 1;
  // Only the pod template is defaulted inside a CronJob; each Job gets the rest when created.
  const template = spec.jobTemplate?.spec?.template;
  if (template) defaultPod(template);
}
