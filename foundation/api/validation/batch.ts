/**
 * Validation of the batch group: Job and CronJob, as upstream's pkg/apis/batch/validation. A Job's
 * pods must not restart forever (restartPolicy OnFailure or Never), its counts are non-negative, an
 * Indexed Job has completions, and its selector is either the one the API generated (the
 * `batch.kubernetes.io/controller-uid` label) or, with manualSelector, one that matches the
 * template. A CronJob's schedule parses, its time zone is an IANA name, and its job template is a
 * valid Job spec whose selector the controller will generate. backoffLimitPerIndex is refused by
 * name: the Job controller here does not run per-index backoff. On update a Job's selector, template
 * (but for scheduling fields of a suspended Job that never started), completion mode and failure
 * policies stay as they were.
 */

import { isDeepStrictEqual } from "node:util";
import type {
  CronJob,
  Job,
  JobSpec,
  PodFailurePolicy,
  PodTemplateSpec,
  SuccessPolicy,
} from "../../../proto/gen/api.js";
import { CronScheduleError, parseCronSchedule, timeZoneError } from "../cron-schedule.js";
import { parseIndexes } from "../job-indexes.js";
import { matchesSelector, selectorFromLabelSelector } from "../labels.js";
import {
  type Causes,
  child,
  index,
  validateLabels,
  validateNonNegative,
  validateOneOf,
  validatePositive,
} from "./field.js";
import { validateAnnotations } from "./meta.js";
import { validateLabelSelectorAt, validatePodSpec } from "./pod.js";

export const controllerUidLabel = "batch.kubernetes.io/controller-uid";
export const legacyControllerUidLabel = "controller-uid";
export const jobNameLabel = "batch.kubernetes.io/job-name";
export const legacyJobNameLabel = "job-name";

/** Indexed Jobs: at most this many completions (and parallelism), as upstream. */
const maxIndexedCompletions = 100_000;
const maxPodFailurePolicyRules = 20;
const maxExitCodeValues = 255;
const maxSuccessPolicyRules = 20;
/** A CronJob's Jobs are named `<cronjob>-<11 digits>`, which must stay a 63-character label value. */
const maxCronJobNameLength = 52;

interface JobSpecContext {
  /** The Job's uid, when the API knows it: then the selector must be the generated one. */
  uid?: string | undefined;
  /** A CronJob's job template: the selector is generated per Job, so none may be given. */
  inCronJob?: boolean;
}

export function validateJob(c: Causes, job: Job): void {
  validateJobSpec(c, "spec", job.spec ?? {}, { uid: job.metadata.uid });
}

export function validateJobUpdate(c: Causes, job: Job, old: Job): void {
  const spec = job.spec ?? {};
  const prev = old.spec ?? {};
  const same = (a: unknown, b: unknown) => isDeepStrictEqual(a ?? null, b ?? null);
  if (!same(spec.selector, prev.selector)) c.immutable("spec.selector", spec.selector ?? {});
  if (spec.completionMode !== prev.completionMode)
    c.immutable("spec.completionMode", spec.completionMode ?? "");
  // Indexed Jobs may scale completions and parallelism together (upstream's elastic Indexed Jobs).
  const elastic =
    spec.completionMode === "Indexed" &&
    spec.completions === spec.parallelism &&
    prev.completions === prev.parallelism;
  if (spec.completions !== prev.completions && !elastic) c.immutable("spec.completions", spec.completions);
  for (const f of ["podFailurePolicy", "successPolicy", "backoffLimitPerIndex", "managedBy"] as const) {
    if (!same(spec[f], prev[f])) c.immutable(`spec.${f}`, spec[f] ?? null);
  }
  const neverStarted = prev.suspend === true && !old.status?.startTime;
  const mask = (t: PodTemplateSpec | undefined): unknown => {
    if (!neverStarted || !t) return t ?? null;
    const { labels: _l, annotations: _a, ...meta } = t.metadata ?? {};
    const { nodeSelector: _n, affinity: _f, tolerations: _t, ...podSpec } = t.spec ?? {};
    return { metadata: meta, spec: podSpec };
  };
  if (!same(mask(spec.template), mask(prev.template))) c.immutable("spec.template", spec.template ?? {});
}

export function validateCronJob(c: Causes, cj: CronJob): void {
  const name = cj.metadata.name ?? "";
  if (name.length > maxCronJobNameLength)
    c.invalid("metadata.name", name, `must be no more than ${maxCronJobNameLength} characters`);
  const spec = cj.spec ?? {};
  if (!spec.schedule) c.required("spec.schedule");
  else {
    try {
      // The zone is checked on its own below; here only the schedule's syntax counts.
      parseCronSchedule(spec.schedule, undefined);
    } catch (err) {
      if (!(err instanceof CronScheduleError)) throw err;
      c.invalid("spec.schedule", spec.schedule, err.message);
    }
    if (spec.timeZone !== undefined && spec.schedule.includes("TZ"))
      c.invalid(
        "spec.schedule",
        spec.schedule,
        "cannot use both timeZone field and TZ or CRON_TZ in schedule",
      );
  }
  if (spec.timeZone !== undefined) {
    const err = timeZoneError(spec.timeZone);
    if (err) c.invalid("spec.timeZone", spec.timeZone, err);
  }
  validateOneOf(c, "spec.concurrencyPolicy", spec.concurrencyPolicy, ["Allow", "Forbid", "Replace"]);
  validateNonNegative(c, "spec.startingDeadlineSeconds", spec.startingDeadlineSeconds);
  validateNonNegative(c, "spec.successfulJobsHistoryLimit", spec.successfulJobsHistoryLimit);
  validateNonNegative(c, "spec.failedJobsHistoryLimit", spec.failedJobsHistoryLimit);
  const template = spec.jobTemplate;
  if (!template) {
    c.required("spec.jobTemplate");
    return;
  }
  validateLabels(c, "spec.jobTemplate.metadata.labels", template.metadata?.labels);
  validateAnnotations(c, "spec.jobTemplate.metadata.annotations", template.metadata?.annotations);
  validateJobSpec(c, "spec.jobTemplate.spec", template.spec ?? {}, { inCronJob: true });
}

function validateJobSpec(c: Causes, path: string, spec: JobSpec, ctx: JobSpecContext): void {
  const at = (f: string) => child(path, f);
  validateNonNegative(c, at("parallelism"), spec.parallelism);
  validateNonNegative(c, at("completions"), spec.completions);
  validatePositive(c, at("activeDeadlineSeconds"), spec.activeDeadlineSeconds);
  validateNonNegative(c, at("backoffLimit"), spec.backoffLimit);
  validateNonNegative(c, at("ttlSecondsAfterFinished"), spec.ttlSecondsAfterFinished);
  validateNonNegative(c, at("backoffLimitPerIndex"), spec.backoffLimitPerIndex);
  validateNonNegative(c, at("maxFailedIndexes"), spec.maxFailedIndexes);
  validateOneOf(c, at("completionMode"), spec.completionMode, ["NonIndexed", "Indexed"], false);
  validateOneOf(
    c,
    at("podReplacementPolicy"),
    spec.podReplacementPolicy,
    ["TerminatingOrFailed", "Failed"],
    false,
  );
  const indexed = spec.completionMode === "Indexed";
  if (indexed) {
    if (spec.completions === undefined) c.required(at("completions"), "when completion mode is Indexed");
    else if (spec.completions > maxIndexedCompletions)
      c.invalid(
        at("completions"),
        spec.completions,
        `must be less than or equal to ${maxIndexedCompletions} when completion mode is Indexed`,
      );
    if ((spec.parallelism ?? 0) > maxIndexedCompletions)
      c.invalid(
        at("parallelism"),
        spec.parallelism,
        `must be less than or equal to ${maxIndexedCompletions} when completion mode is Indexed`,
      );
  } else {
    if (spec.backoffLimitPerIndex !== undefined)
      c.invalid(at("backoffLimitPerIndex"), spec.backoffLimitPerIndex, "requires indexed completion mode");
  }
  // Per-index backoff is upstream's too, but this cluster's Job controller does not run it: refuse
  // it by name rather than let the Job retry under different rules than its author wrote.
  if (spec.backoffLimitPerIndex !== undefined)
    c.forbidden(
      at("backoffLimitPerIndex"),
      "per-index backoff is not supported by this cluster's Job controller",
    );
  if (spec.maxFailedIndexes !== undefined) {
    if (spec.backoffLimitPerIndex === undefined)
      c.required(at("backoffLimitPerIndex"), "when maxFailedIndexes is specified");
    if (spec.completions !== undefined && spec.maxFailedIndexes > spec.completions)
      c.invalid(at("maxFailedIndexes"), spec.maxFailedIndexes, "must be less than or equal to completions");
  }
  if (spec.managedBy !== undefined && spec.managedBy.length > 63)
    c.invalid(at("managedBy"), spec.managedBy, "must be no more than 63 characters");

  validateJobSelector(c, path, spec, ctx);
  const template = spec.template;
  if (!template) {
    c.required(at("template"));
  } else {
    validateLabels(c, child(at("template"), "metadata.labels"), template.metadata?.labels);
    validateAnnotations(c, child(at("template"), "metadata.annotations"), template.metadata?.annotations);
    const specPath = child(at("template"), "spec");
    validatePodSpec(c, template.spec, specPath);
    const policy = template.spec?.restartPolicy;
    const policyPath = child(specPath, "restartPolicy");
    if (!policy) c.required(policyPath, 'valid values: "OnFailure", "Never"');
    else if (policy !== "OnFailure" && policy !== "Never")
      c.notSupported(policyPath, policy, ["OnFailure", "Never"]);
    else if (spec.podFailurePolicy && policy !== "Never")
      c.invalid(policyPath, policy, 'only "Never" is supported when podFailurePolicy is specified');
  }
  if (spec.podFailurePolicy) validatePodFailurePolicy(c, at("podFailurePolicy"), spec.podFailurePolicy, spec);
  if (spec.podFailurePolicy && spec.podReplacementPolicy === "TerminatingOrFailed")
    c.notSupported(at("podReplacementPolicy"), spec.podReplacementPolicy, ["Failed"]);
  if (spec.successPolicy) validateSuccessPolicy(c, at("successPolicy"), spec.successPolicy, spec);
}

function validateJobSelector(c: Causes, path: string, spec: JobSpec, ctx: JobSpecContext): void {
  const selectorPath = child(path, "selector");
  const labels = spec.template?.metadata?.labels ?? {};
  if (ctx.inCronJob) {
    if (spec.selector) c.invalid(selectorPath, "", "`selector` will be auto-generated");
    if (spec.manualSelector === true)
      c.notSupported(child(path, "manualSelector"), spec.manualSelector, ["nil", "false"]);
    return;
  }
  if (spec.manualSelector === true) {
    if (!spec.selector) {
      c.required(selectorPath);
      return;
    }
    if (!validateLabelSelectorAt(c, selectorPath, spec.selector)) return;
    const selector = selectorFromLabelSelector(spec.selector);
    if (selector.requirements.length === 0) c.invalid(selectorPath, "", "empty selector is invalid for job");
    else if (!matchesSelector(selector, labels))
      c.invalid(
        child(path, "template.metadata.labels"),
        labels,
        "`selector` does not match template `labels`",
      );
    return;
  }
  // Without manualSelector the API generates the selector on create; before that (kctl's local
  // check) there is no uid yet and nothing to compare.
  if (!ctx.uid) return;
  const generated = { matchLabels: { [controllerUidLabel]: ctx.uid } };
  if (!isDeepStrictEqual(spec.selector, generated))
    c.invalid(selectorPath, "", "`selector` not auto-generated");
  if (labels[controllerUidLabel] !== ctx.uid)
    c.invalid(
      child(path, `template.metadata.labels[${controllerUidLabel}]`),
      labels[controllerUidLabel] ?? "",
      `must be '${ctx.uid}'`,
    );
}

function validatePodFailurePolicy(c: Causes, path: string, policy: PodFailurePolicy, spec: JobSpec): void {
  const rules = policy.rules ?? [];
  const rulesPath = child(path, "rules");
  if (rules.length > maxPodFailurePolicyRules) c.tooLong(rulesPath, maxPodFailurePolicyRules, "items");
  const containers = new Set(
    [...(spec.template?.spec?.containers ?? []), ...(spec.template?.spec?.initContainers ?? [])].map(
      (ct) => ct.name,
    ),
  );
  rules.forEach((rule, i) => {
    const rulePath = index(rulesPath, i);
    const actions = ["FailJob", "FailIndex", "Ignore", "Count"];
    validateOneOf(c, child(rulePath, "action"), rule.action, actions);
    if (rule.action === "FailIndex" && spec.backoffLimitPerIndex === undefined)
      c.invalid(child(rulePath, "action"), rule.action, "requires the backoffLimitPerIndex to be set");
    const onExit = rule.onExitCodes;
    const onConditions = rule.onPodConditions;
    if (onExit && onConditions?.length) {
      c.invalid(rulePath, "", "specifying both OnExitCodes and OnPodConditions is not supported");
    } else if (!onExit && !onConditions?.length) {
      c.invalid(rulePath, "", "specifying one of OnExitCodes and OnPodConditions is required");
    }
    if (onExit) {
      const exitPath = child(rulePath, "onExitCodes");
      if (onExit.containerName !== undefined && !containers.has(onExit.containerName))
        c.invalid(
          child(exitPath, "containerName"),
          onExit.containerName,
          "must be one of the container or initContainer names in the pod template",
        );
      validateOneOf(c, child(exitPath, "operator"), onExit.operator, ["In", "NotIn"]);
      const values = onExit.values ?? [];
      const valuesPath = child(exitPath, "values");
      if (values.length === 0) c.required(valuesPath, "at least one value is required");
      if (values.length > maxExitCodeValues) c.tooLong(valuesPath, maxExitCodeValues, "items");
      values.forEach((v, j) => {
        if (j > 0 && v === values[j - 1]) c.duplicate(index(valuesPath, j), v);
        else if (j > 0 && v < values[j - 1]!) c.invalid(index(valuesPath, j), v, "must be ordered");
        if (v === 0 && onExit.operator === "In")
          c.invalid(index(valuesPath, j), v, "must not be 0 for the In operator");
      });
    }
    (onConditions ?? []).forEach((p, j) => {
      const patternPath = index(child(rulePath, "onPodConditions"), j);
      if (!p.type) c.required(child(patternPath, "type"));
      validateOneOf(c, child(patternPath, "status"), p.status, ["True", "False", "Unknown"]);
    });
  });
}

function validateSuccessPolicy(c: Causes, path: string, policy: SuccessPolicy, spec: JobSpec): void {
  if (spec.completionMode !== "Indexed")
    c.invalid(child(path, "rules"), "", "requires indexed completion mode");
  const rules = policy.rules ?? [];
  const rulesPath = child(path, "rules");
  if (rules.length === 0)
    c.required(rulesPath, "at least one rules must be specified when the successPolicy is specified");
  if (rules.length > maxSuccessPolicyRules) c.tooLong(rulesPath, maxSuccessPolicyRules, "items");
  rules.forEach((rule, i) => {
    const rulePath = index(rulesPath, i);
    if (rule.succeededIndexes === undefined && rule.succeededCount === undefined)
      c.required(rulePath, "at least one of succeededCount or succeededIndexes must be specified");
    if (
      rule.succeededIndexes !== undefined &&
      parseIndexes(rule.succeededIndexes, spec.completions ?? 0) === undefined
    )
      c.invalid(child(rulePath, "succeededIndexes"), rule.succeededIndexes, "error parsing succeededIndexes");
    if (rule.succeededCount !== undefined) {
      if (rule.succeededCount <= 0)
        c.invalid(child(rulePath, "succeededCount"), rule.succeededCount, "must be greater than 0");
      else if (spec.completions !== undefined && rule.succeededCount > spec.completions)
        c.invalid(
          child(rulePath, "succeededCount"),
          rule.succeededCount,
          `must be less than or equal to ${spec.completions} (the number of specified completions)`,
        );
    }
  });
}
