/**
 * The Job controller: runs each Job's pods until enough succeed or the Job fails. One `sync(key)`
 * reads the Job and its pods from the caches and, in order:
 *  1. tracks finished pods (tracking.ts): their uids go to status.uncountedTerminatedPods, their
 *     job-tracking finalizers come off, then they move into succeeded/failed, so each pod counts
 *     exactly once even if it is deleted meanwhile;
 *  2. decides whether the Job is done: a FailJob pod failure policy match, more failures than
 *     backoffLimit, activeDeadlineSeconds passed, or enough successes (completions, completed
 *     indexes, a success policy). Done means the interim condition (FailureTarget or
 *     SuccessCriteriaMet), the remaining pods deleted, and once none is left the terminal one;
 *  3. otherwise deletes every pod of a suspended Job, or creates and deletes pods towards
 *     `parallelism` (by completion index when Indexed), waiting out the failure backoff;
 *  4. writes status (active, ready, terminating, counts, completedIndexes, startTime, conditions).
 * Event handlers only record expectations and enqueue keys; cached objects are never edited.
 */
import { isDeepStrictEqual } from "node:util";
import { isApiError } from "../../../foundation/api/errors.js";
import { formatIndexes, parseIndexes } from "../../../foundation/api/job-indexes.js";
import { matchesSelector, type Selector, selectorFromLabelSelector } from "../../../foundation/api/labels.js";
import { objectKey } from "../../../foundation/api/object.js";
import { controllerRefOf } from "../../../foundation/api/owner-references.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import type { Clock } from "../../../foundation/util/clock.js";
import { parseTime, rfc3339 } from "../../../foundation/util/time.js";
import type { Job, JobStatus, Pod } from "../../../proto/gen/api.js";
import {
  type ControllerClient,
  claimChildren,
  type DeepReadonly,
  type EventHandler,
  type EventRecorder,
  isPodReady,
  type Lister,
  splitKey,
} from "../../client/index.js";
import { type KeyQueue, slowStartBatch } from "../replicaset/controller.js";
import { Expectations } from "../replicaset/expectations.js";
import { remainingBackoffMs } from "./backoff.js";
import {
  backoffLimitExceeded,
  completionsReached,
  deadlineExceeded,
  findCondition,
  hasCondition,
  isFinished,
  type Outcome,
  setCondition,
} from "./conditions.js";
import { matchPodFailurePolicy } from "./failure-policy.js";
import { isActive, isFailed, isSucceeded, isTerminating, restartCount } from "./pod-outcome.js";
import { completionIndexOf, hasTrackingFinalizer, podForJob, trackingFinalizer } from "./pod-template.js";
import { successPolicyOutcome } from "./success-policy.js";

export const podsResource = resourceForKind("v1", "Pod")!;
export const jobsResource = resourceForKind("batch/v1", "Job")!;

/** The value of spec.managedBy this controller serves (an absent one means the same). */
export const jobControllerName = "kubernetes.io/job-controller";

/** Kubernetes' BurstReplicas: at most this many pods created by one sync. */
const burst = 500;

type ReadonlyPod = DeepReadonly<Pod>;
type ReadonlyJob = DeepReadonly<Job>;

export interface JobControllerOptions {
  /** Pod cache; must carry the `byOwnerUid` index. */
  pods: Lister<Pod>;
  jobs: Lister<Job>;
  client: ControllerClient;
  recorder: EventRecorder;
  clock: Clock;
  queue: KeyQueue;
}

/** What one sync learnt from a Job's pods. */
interface PodCensus {
  pods: readonly ReadonlyPod[];
  active: ReadonlyPod[];
  terminating: number;
  /** Failed pods the pod failure policy says to ignore: released, never counted. */
  ignored: ReadonlyPod[];
  /** A FailJob match among new failures. */
  failJob: Outcome | undefined;
}

export class JobController {
  readonly expectations: Expectations;
  /**
   * Per Job key, pods whose finalizer this controller removed, until the cache shows it gone: a
   * cache that lags behind must not make them look newly finished and count them twice.
   */
  private readonly released = new Map<string, Set<string>>();
  private readonly pods: Lister<Pod>;
  private readonly jobs: Lister<Job>;
  private readonly client: ControllerClient;
  private readonly recorder: EventRecorder;
  private readonly clock: Clock;
  private readonly queue: KeyQueue;

  constructor(opts: JobControllerOptions) {
    this.pods = opts.pods;
    this.jobs = opts.jobs;
    this.client = opts.client;
    this.recorder = opts.recorder;
    this.clock = opts.clock;
    this.queue = opts.queue;
    this.expectations = new Expectations(opts.clock);
  }

  readonly jobHandler: EventHandler<Job> = {
    onAdd: (job) => this.queue.add(objectKey(job)),
    onUpdate: (_old, job) => this.queue.add(objectKey(job)),
    onDelete: (job) => this.queue.add(objectKey(job)),
  };

  readonly podHandler: EventHandler<Pod> = {
    onAdd: (pod) => {
      const key = this.jobKeyOf(pod);
      if (!key) return;
      if (pod.metadata.deletionTimestamp) this.expectations.deletionObserved(key, objectKey(pod));
      else this.expectations.creationObserved(key);
      this.queue.add(key);
    },
    onUpdate: (old, pod) => {
      if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
      const key = this.jobKeyOf(pod);
      if (!key) return;
      if (pod.metadata.deletionTimestamp) this.expectations.deletionObserved(key, objectKey(pod));
      this.queue.add(key);
    },
    onDelete: (pod) => {
      const key = this.jobKeyOf(pod);
      if (!key) return;
      this.expectations.deletionObserved(key, objectKey(pod));
      this.queue.add(key);
    },
  };

  /** Reconciles the Job under `key` ("namespace/name"). Throws to be retried with backoff. */
  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const job = this.jobs.get(key);
    await this.releaseStrays(namespace, name, job?.metadata.uid);
    if (!job) {
      this.expectations.delete(key);
      this.released.delete(key);
      return;
    }
    const managedBy = job.spec?.managedBy;
    if (managedBy !== undefined && managedBy !== jobControllerName) return;
    let selector: Selector;
    try {
      selector = selectorFromLabelSelector(job.spec?.selector ?? {});
    } catch (err) {
      this.recorder.event(job, "Warning", "InvalidSelector", (err as Error).message);
      return;
    }
    const pods = await claimChildren(
      this.pods.list().filter((p) => p.metadata.namespace === namespace),
      { owner: job, ownerInfo: jobsResource, selector, childInfo: podsResource, client: this.client },
    );
    if (isFinished(job.status) || job.metadata.deletionTimestamp) {
      // Nothing more to count: let the pods go, so the garbage collector can remove them.
      await this.removeFinalizers(key, pods.filter(hasTrackingFinalizer));
      return;
    }
    try {
      await this.reconcile(key, job, pods);
    } catch (err) {
      // Our status write met a newer Job than the cache shows: the informer will deliver it, and
      // with it the next sync. Writing over it from this stale view could undo counts.
      if (!(err instanceof StaleJob)) throw err;
    }
  }

  private async reconcile(key: string, job: ReadonlyJob, pods: readonly ReadonlyPod[]): Promise<void> {
    const now = this.clock.now();
    const spec = job.spec ?? {};
    const onlyReplaceFailed = spec.podReplacementPolicy === "Failed";
    const status = structuredClone(job.status ?? {}) as JobStatus;
    const census = this.census(key, job, pods, onlyReplaceFailed, status);
    let current = job;
    let errors: unknown[] = [];

    // 1. Count finished pods exactly once: record them as uncounted, release them, then count. A
    // FailJob match is recorded with them, so it is not lost once they are no longer new.
    const uncounted = status.uncountedTerminatedPods ?? {};
    if (census.failJob && !findCondition(status, "FailureTarget")) {
      const { reason, message } = census.failJob;
      setCondition(status, "FailureTarget", "True", reason, message, now);
    }
    if (!sameStatus(job.status, status)) current = await this.writeStatus(current, status);
    errors = errors.concat(
      await this.removeFinalizers(key, [...uncountedPods(pods, uncounted), ...census.ignored]),
    );
    this.countReleased(key, job, pods, status);

    // 2. Done?
    const outcome = this.outcome(job, status, census, now);
    const suspended = spec.suspend === true;
    let requeueAfter: number | undefined;
    if (outcome) {
      setCondition(
        status,
        outcome.success ? "SuccessCriteriaMet" : "FailureTarget",
        "True",
        outcome.reason,
        outcome.message,
        now,
      );
      errors = errors.concat(await this.deletePods(key, job, census.active));
      if (census.active.length === 0 && census.terminating === 0 && noneUncounted(status)) {
        setCondition(
          status,
          outcome.success ? "Complete" : "Failed",
          "True",
          outcome.reason,
          outcome.message,
          now,
        );
        if (outcome.success) status.completionTime = rfc3339(now);
        if (outcome.success) this.recorder.event(job, "Normal", "Completed", "Job completed");
        else this.recorder.event(job, "Warning", outcome.reason, outcome.message);
      }
    } else if (suspended) {
      // 3a. A suspended Job runs nothing; its deadline clock restarts when it resumes.
      errors = errors.concat(await this.deletePods(key, job, census.active));
      if (!hasCondition(status, "Suspended")) {
        setCondition(status, "Suspended", "True", "JobSuspended", "Job suspended", now);
        this.recorder.event(job, "Normal", "Suspended", "Job suspended");
      }
    } else {
      // 3b. Run pods towards parallelism.
      if (hasCondition(status, "Suspended")) {
        setCondition(status, "Suspended", "False", "JobResumed", "Job resumed", now);
        status.startTime = rfc3339(now);
        this.recorder.event(job, "Normal", "Resumed", "Job resumed");
      }
      status.startTime ??= rfc3339(now);
      if (this.expectations.satisfied(key)) {
        // Failures the pod failure policy ignores do not slow the retries either.
        const policy = spec.podFailurePolicy;
        const counted = (p: ReadonlyPod) =>
          isFailed(p, onlyReplaceFailed) && matchPodFailurePolicy(policy, p)?.action !== "Ignore";
        const backoff = remainingBackoffMs(pods, counted, now);
        try {
          const waiting = await this.managePods(key, job, status, census, backoff > 0);
          if (waiting) requeueAfter = backoff;
        } catch (err) {
          errors.push(err);
        }
      }
      const deadline = spec.activeDeadlineSeconds;
      const start = parseTime(status.startTime);
      if (deadline !== undefined && start !== undefined) {
        const left = start + deadline * 1000 - now;
        requeueAfter = requeueAfter === undefined ? left : Math.min(requeueAfter, left);
      }
    }

    // 4. Status.
    status.active = census.active.length;
    status.ready = census.active.filter((p) => isPodReady(p)).length;
    status.terminating = census.terminating;
    status.succeeded ??= 0;
    status.failed ??= 0;
    if (!sameStatus(current.status, status)) await this.writeStatus(current, status);
    if (errors.length > 0) throw errors[0];
    if (requeueAfter !== undefined && requeueAfter > 0) this.queue.addAfter(key, requeueAfter);
  }

  /**
   * Sorts `pods` and records new finishers in `status.uncountedTerminatedPods`: finished pods still
   * holding the tracking finalizer that are neither uncounted yet nor released by us already.
   */
  private census(
    key: string,
    job: ReadonlyJob,
    pods: readonly ReadonlyPod[],
    onlyReplaceFailed: boolean,
    status: JobStatus,
  ): PodCensus {
    const released = this.released.get(key);
    const byUid = new Map(pods.map((p) => [p.metadata.uid ?? "", p]));
    for (const uid of released ?? []) {
      const pod = byUid.get(uid);
      if (!pod || !hasTrackingFinalizer(pod)) released?.delete(uid);
    }
    const uncounted = status.uncountedTerminatedPods ?? {};
    const seen = new Set([...(uncounted.succeeded ?? []), ...(uncounted.failed ?? [])]);
    const census: PodCensus = { pods, active: [], terminating: 0, ignored: [], failJob: undefined };
    const succeeded = [...(uncounted.succeeded ?? [])];
    const failed = [...(uncounted.failed ?? [])];
    for (const pod of pods) {
      if (isActive(pod)) census.active.push(pod);
      if (isTerminating(pod)) census.terminating++;
      const uid = pod.metadata.uid ?? "";
      if (!hasTrackingFinalizer(pod) || seen.has(uid) || released?.has(uid)) continue;
      if (isSucceeded(pod)) succeeded.push(uid);
      // Pods a suspension stops are not failures; only those that failed on their own count.
      else if (isFailed(pod, onlyReplaceFailed || job.spec?.suspend === true)) {
        const match = matchPodFailurePolicy(job.spec?.podFailurePolicy, pod);
        if (match?.action === "Ignore") {
          census.ignored.push(pod);
          continue;
        }
        if (match?.action === "FailJob")
          census.failJob ??= { success: false, reason: "PodFailurePolicy", message: match.message };
        failed.push(uid);
      }
    }
    const next: NonNullable<JobStatus["uncountedTerminatedPods"]> = {};
    if (succeeded.length > 0) next.succeeded = succeeded;
    if (failed.length > 0) next.failed = failed;
    status.uncountedTerminatedPods = next;
    return census;
  }

  /** Moves uncounted pods that no longer hold the finalizer (or are gone) into the counts. */
  private countReleased(
    key: string,
    job: ReadonlyJob,
    pods: readonly ReadonlyPod[],
    status: JobStatus,
  ): void {
    const released = this.released.get(key);
    const byUid = new Map(pods.map((p) => [p.metadata.uid ?? "", p]));
    const done = (uid: string) => {
      const pod = byUid.get(uid);
      return !pod || !hasTrackingFinalizer(pod) || released?.has(uid) === true;
    };
    const uncounted = status.uncountedTerminatedPods ?? {};
    const indexed = job.spec?.completionMode === "Indexed";
    const completions = job.spec?.completions ?? 0;
    const completed = new Set(parseIndexes(status.completedIndexes ?? "", completions) ?? []);
    const stillSucceeded: string[] = [];
    for (const uid of uncounted.succeeded ?? []) {
      if (!done(uid)) {
        stillSucceeded.push(uid);
        continue;
      }
      const pod = byUid.get(uid);
      if (!indexed) status.succeeded = (status.succeeded ?? 0) + 1;
      else if (pod) {
        // A second success of the same index, or one without an index, is not a completion.
        const i = completionIndexOf(pod, completions);
        if (i !== undefined && !completed.has(i)) {
          completed.add(i);
          status.succeeded = (status.succeeded ?? 0) + 1;
        }
      }
    }
    const stillFailed = (uncounted.failed ?? []).filter((uid) => !done(uid));
    status.failed = (status.failed ?? 0) + (uncounted.failed ?? []).length - stillFailed.length;
    if (indexed) {
      const text = formatIndexes([...completed].sort((a, b) => a - b));
      if (text) status.completedIndexes = text;
    }
    const next: NonNullable<JobStatus["uncountedTerminatedPods"]> = {};
    if (stillSucceeded.length > 0) next.succeeded = stillSucceeded;
    if (stillFailed.length > 0) next.failed = stillFailed;
    status.uncountedTerminatedPods = next;
  }

  /** Whether and why the Job is done, from its interim condition or its counts. */
  private outcome(job: ReadonlyJob, status: JobStatus, census: PodCensus, now: number): Outcome | undefined {
    for (const type of ["FailureTarget", "SuccessCriteriaMet"] as const) {
      const c = findCondition(status, type);
      if (c?.status === "True")
        return { success: type === "SuccessCriteriaMet", reason: c.reason ?? "", message: c.message ?? "" };
    }
    const spec = job.spec ?? {};
    const uncounted = status.uncountedTerminatedPods ?? {};
    const failed = (status.failed ?? 0) + (uncounted.failed?.length ?? 0);
    const succeeded = (status.succeeded ?? 0) + (uncounted.succeeded?.length ?? 0);
    if (census.failJob) return census.failJob;
    const limit = spec.backoffLimit ?? 6;
    if (failed > limit) return backoffLimitExceeded;
    if (spec.template?.spec?.restartPolicy === "OnFailure") {
      // Container restarts count against backoffLimit too; with a limit of 0 any restart fails the Job.
      const restarts = census.active.reduce((n, p) => n + restartCount(p), 0) + failed;
      if (limit === 0 ? restarts > 0 : restarts >= limit) return backoffLimitExceeded;
    }
    const start = parseTime(status.startTime);
    if (spec.activeDeadlineSeconds !== undefined && start !== undefined && spec.suspend !== true) {
      if (now >= start + spec.activeDeadlineSeconds * 1000) return deadlineExceeded;
    }
    if (spec.completionMode === "Indexed") {
      const completed = parseIndexes(status.completedIndexes ?? "", spec.completions ?? 0) ?? [];
      const bySuccessPolicy = successPolicyOutcome(spec.successPolicy, completed);
      if (bySuccessPolicy) return bySuccessPolicy;
      return completed.length >= (spec.completions ?? 0) ? completionsReached : undefined;
    }
    if (spec.completions === undefined) {
      // A work queue: done once one pod succeeded and the others have stopped.
      return succeeded > 0 && census.active.length === 0 ? completionsReached : undefined;
    }
    return succeeded >= spec.completions ? completionsReached : undefined;
  }

  /**
   * Creates or deletes pods towards the wanted number running; with `backingOff`, creates none.
   * Returns whether creations waited for the backoff.
   */
  private async managePods(
    key: string,
    job: ReadonlyJob,
    status: JobStatus,
    census: PodCensus,
    backingOff: boolean,
  ): Promise<boolean> {
    const spec = job.spec ?? {};
    const parallelism = spec.parallelism ?? 1;
    // Pods still terminating hold their place when only Failed pods may be replaced.
    const holding = spec.podReplacementPolicy === "Failed" ? census.terminating : 0;
    if (spec.completionMode === "Indexed") return this.manageIndexed(key, job, status, census, backingOff);
    const uncounted = status.uncountedTerminatedPods ?? {};
    const succeeded = (status.succeeded ?? 0) + (uncounted.succeeded?.length ?? 0);
    const active = census.active.length;
    let want: number;
    if (spec.completions === undefined) want = succeeded > 0 ? active : parallelism;
    else want = Math.min(parallelism, Math.max(0, spec.completions - succeeded));
    if (active > want) {
      const errs = await this.deletePods(key, job, pickVictims(census.active, active - want));
      if (errs.length > 0) throw errs[0];
      return false;
    }
    const count = Math.min(want - active - holding, burst);
    if (count <= 0) return false;
    if (backingOff) return true;
    await this.createPods(
      key,
      job,
      Array.from({ length: count }, () => undefined),
    );
    return false;
  }

  /** Indexed mode: one running pod per pending index, lowest first; extras and strays go. */
  private async manageIndexed(
    key: string,
    job: ReadonlyJob,
    status: JobStatus,
    census: PodCensus,
    backingOff: boolean,
  ): Promise<boolean> {
    const spec = job.spec ?? {};
    const completions = spec.completions ?? 0;
    const completed = new Set(parseIndexes(status.completedIndexes ?? "", completions) ?? []);
    // Successes not counted yet still hold their index.
    const uncountedOk = new Set(status.uncountedTerminatedPods?.succeeded ?? []);
    for (const pod of census.pods) {
      const i = completionIndexOf(pod, completions);
      if (i !== undefined && uncountedOk.has(pod.metadata.uid ?? "")) completed.add(i);
    }
    const running = new Map<number, ReadonlyPod>();
    const extra: ReadonlyPod[] = [];
    for (const pod of census.active) {
      const i = completionIndexOf(pod, completions);
      if (i === undefined || completed.has(i) || running.has(i)) extra.push(pod);
      else running.set(i, pod);
    }
    const want = Math.min(spec.parallelism ?? 1, completions - completed.size);
    // Over parallelism: stop the highest indexes.
    const byIndexDesc = [...running.entries()].sort((a, b) => b[0] - a[0]);
    while (running.size > want && byIndexDesc.length > 0) {
      const [i, pod] = byIndexDesc.shift()!;
      running.delete(i);
      extra.push(pod);
    }
    if (extra.length > 0) {
      const errs = await this.deletePods(key, job, extra);
      if (errs.length > 0) throw errs[0];
      return false;
    }
    const holding = spec.podReplacementPolicy === "Failed" ? census.terminating : 0;
    const room = Math.min(want - running.size - holding, burst);
    if (room <= 0) return false;
    if (backingOff) return true;
    const pending: number[] = [];
    for (let i = 0; i < completions && pending.length < room; i++) {
      if (!completed.has(i) && !running.has(i)) pending.push(i);
    }
    await this.createPods(key, job, pending);
    return false;
  }

  private async createPods(
    key: string,
    job: ReadonlyJob,
    indexes: readonly (number | undefined)[],
  ): Promise<void> {
    if (indexes.length === 0) return;
    this.expectations.expectCreations(key, indexes.length);
    let next = 0;
    const { successes, error } = await slowStartBatch(indexes.length, async () => {
      const index = indexes[next++];
      try {
        const pod = await this.client.create(
          podsResource,
          job.metadata.namespace ?? "",
          podForJob(job, index),
        );
        this.recorder.event(job, "Normal", "SuccessfulCreate", `Created pod: ${pod.metadata.name}`);
      } catch (err) {
        this.recorder.event(job, "Warning", "FailedCreate", `Error creating: ${(err as Error).message}`);
        throw err;
      }
    });
    // Creations never attempted or refused will produce no informer event to wait for.
    for (let i = successes; i < indexes.length; i++) this.expectations.creationObserved(key);
    if (error !== undefined) throw error;
  }

  /** Deletes `victims`; returns the errors (a pod already gone is not one). */
  private async deletePods(
    key: string,
    job: ReadonlyJob,
    victims: readonly ReadonlyPod[],
  ): Promise<unknown[]> {
    if (victims.length === 0) return [];
    this.expectations.expectDeletions(key, victims.map(objectKey));
    const results = await Promise.allSettled(
      victims.map(async (pod) => {
        const { namespace = "", name = "", uid } = pod.metadata;
        try {
          await this.client.delete(podsResource, namespace, name, uid ? { uid } : {});
          this.recorder.event(job, "Normal", "SuccessfulDelete", `Deleted pod: ${name}`);
        } catch (err) {
          this.expectations.deletionObserved(key, objectKey(pod));
          if (isApiError(err, "NotFound")) return;
          this.recorder.event(job, "Warning", "FailedDelete", `Error deleting: ${(err as Error).message}`);
          throw err;
        }
      }),
    );
    return results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason);
  }

  /** Takes the tracking finalizer off `pods`; returns the errors (a pod already gone is not one). */
  private async removeFinalizers(key: string, pods: readonly ReadonlyPod[]): Promise<unknown[]> {
    const errors: unknown[] = [];
    const released = this.released.get(key) ?? new Set<string>();
    await Promise.all(
      pods.map(async (pod) => {
        const uid = pod.metadata.uid ?? "";
        if (released.has(uid) || !hasTrackingFinalizer(pod)) return;
        const rest = (pod.metadata.finalizers ?? []).filter((f) => f !== trackingFinalizer);
        try {
          await this.client.patch(podsResource, pod.metadata.namespace ?? "", pod.metadata.name ?? "", {
            metadata: {
              finalizers: rest.length > 0 ? rest : null,
              resourceVersion: pod.metadata.resourceVersion,
            },
          });
          released.add(uid);
        } catch (err) {
          if (isApiError(err, "NotFound")) released.add(uid);
          // Conflict: the pod changed since the cache saw it; its update event brings the next sync.
          else if (!isApiError(err, "Conflict")) errors.push(err);
        }
      }),
    );
    if (released.size > 0) this.released.set(key, released);
    return errors;
  }

  /**
   * Releases pods that a Job named `name` created but that no live Job controls (the Job was
   * deleted, or replaced by one of the same name): without this their finalizer would keep them
   * forever.
   */
  private async releaseStrays(namespace: string, name: string, liveUid: string | undefined): Promise<void> {
    const strays = this.pods.list().filter((p) => {
      if (p.metadata.namespace !== namespace || !hasTrackingFinalizer(p)) return false;
      const ref = controllerRefOf(p);
      return ref?.kind === "Job" && ref.name === name && ref.uid !== liveUid;
    });
    const errors = await this.removeFinalizers(`${namespace}/${name}/strays`, strays);
    this.released.delete(`${namespace}/${name}/strays`);
    if (errors.length > 0) throw errors[0];
  }

  /** Writes `status` over `job`; a Conflict (the cache is behind) becomes StaleJob. */
  private async writeStatus(job: ReadonlyJob, status: JobStatus): Promise<ReadonlyJob> {
    const copy = structuredClone(job) as Job;
    copy.status = structuredClone(status);
    try {
      return await this.client.updateStatus(jobsResource, copy);
    } catch (err) {
      if (isApiError(err, "Conflict")) throw new StaleJob();
      throw err;
    }
  }

  /** The key of the Job `pod` names as its controller (whether or not that Job is cached). */
  private jobKeyOf(pod: ReadonlyPod): string | undefined {
    const ref = controllerRefOf(pod);
    if (ref?.kind !== "Job") return this.matchingJob(pod);
    return objectKey({ metadata: { namespace: pod.metadata.namespace, name: ref.name } });
  }

  /** An orphan pod's Job with a manual selector that would adopt it. */
  private matchingJob(pod: ReadonlyPod): string | undefined {
    if (controllerRefOf(pod)) return undefined;
    for (const job of this.jobs.list()) {
      if (job.metadata.namespace !== pod.metadata.namespace || job.spec?.manualSelector !== true) continue;
      try {
        const selector = selectorFromLabelSelector(job.spec.selector ?? {});
        if (selector.requirements.length > 0 && matchesSelector(selector, pod.metadata.labels))
          return objectKey(job);
      } catch {
        // A bad selector adopts nothing; the Job's own sync reports it.
      }
    }
    return undefined;
  }
}

/** Pods named in `uncounted` that are still cached. */
function uncountedPods(
  pods: readonly ReadonlyPod[],
  uncounted: NonNullable<JobStatus["uncountedTerminatedPods"]>,
): ReadonlyPod[] {
  const uids = new Set([...(uncounted.succeeded ?? []), ...(uncounted.failed ?? [])]);
  return pods.filter((p) => uids.has(p.metadata.uid ?? ""));
}

/** Pods to stop first when there are too many: not yet scheduled, then not ready, then the newest. */
function pickVictims(active: readonly ReadonlyPod[], count: number): ReadonlyPod[] {
  const rank = (p: ReadonlyPod) => (!p.spec?.nodeName ? 0 : !isPodReady(p) ? 1 : 2);
  return [...active]
    .sort(
      (a, b) =>
        rank(a) - rank(b) ||
        (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? ""),
    )
    .slice(0, count);
}

function noneUncounted(status: JobStatus): boolean {
  const u = status.uncountedTerminatedPods ?? {};
  return (u.succeeded?.length ?? 0) === 0 && (u.failed?.length ?? 0) === 0;
}

/** True when writing `next` would change nothing a reader sees; key order and empty parts aside. */
function sameStatus(current: DeepReadonly<JobStatus> | undefined, next: JobStatus): boolean {
  return isDeepStrictEqual(pruned(current ?? {}), pruned(next));
}

/** `v` without undefined values, empty arrays and empty objects, at any depth. */
function pruned(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(pruned);
  if (v === null || typeof v !== "object") return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const p = pruned(x);
    if (p === undefined || (Array.isArray(p) && p.length === 0)) continue;
    if (typeof p === "object" && p !== null && !Array.isArray(p) && Object.keys(p).length === 0) continue;
    out[k] = p;
  }
  return out;
}

/** A status write lost to a newer version of the Job than the cache holds. */
class StaleJob extends Error {}
