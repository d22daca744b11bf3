/**
 * The TTL-after-finished controller: deletes a Job `spec.ttlSecondsAfterFinished` seconds after it
 * finished (its Complete or Failed condition turned True), with foreground propagation so its pods
 * go first, as upstream. The decision is taken again on a fresh read before deleting: a user may
 * have raised the TTL since the cache was filled. Until the time comes the key waits in the queue.
 */

import { isApiError } from "../../../foundation/api/errors.js";
import { objectKey } from "../../../foundation/api/object.js";
import type { Clock } from "../../../foundation/util/clock.js";
import { parseTime } from "../../../foundation/util/time.js";
import type { Job } from "../../../proto/gen/api.js";
import type { ControllerClient, DeepReadonly, EventHandler, Lister } from "../../client/index.js";
import { splitKey } from "../../client/index.js";
import { jobsResource } from "../job/index.js";
import type { KeyQueue } from "../replicaset/index.js";

export interface TtlAfterFinishedOptions {
  jobs: Lister<Job>;
  client: ControllerClient;
  clock: Clock;
  queue: KeyQueue;
}

/** When `job` may be deleted (ms), or undefined when it has no TTL, has not finished or is going. */
export function expiresAt(job: DeepReadonly<Job>): number | undefined {
  const ttl = job.spec?.ttlSecondsAfterFinished;
  if (ttl === undefined || job.metadata.deletionTimestamp) return undefined;
  const done = job.status?.conditions?.find(
    (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
  );
  const finished = parseTime(done?.lastTransitionTime);
  return finished === undefined ? undefined : finished + ttl * 1000;
}

export class TtlAfterFinishedController {
  private readonly jobs: Lister<Job>;
  private readonly client: ControllerClient;
  private readonly clock: Clock;
  private readonly queue: KeyQueue;

  constructor(opts: TtlAfterFinishedOptions) {
    this.jobs = opts.jobs;
    this.client = opts.client;
    this.clock = opts.clock;
    this.queue = opts.queue;
  }

  readonly jobHandler: EventHandler<Job> = {
    onAdd: (job) => this.enqueueIfDue(job),
    onUpdate: (_old, job) => this.enqueueIfDue(job),
    onDelete: () => {},
  };

  async sync(key: string): Promise<void> {
    const cached = this.jobs.get(key);
    if (!cached) return;
    const due = expiresAt(cached);
    if (due === undefined) return;
    const now = this.clock.now();
    if (due > now) {
      this.queue.addAfter(key, due - now);
      return;
    }
    const { namespace, name } = splitKey(key);
    let fresh: Job;
    try {
      fresh = await this.client.get<Job>(jobsResource, namespace, name);
    } catch (err) {
      if (isApiError(err, "NotFound")) return;
      throw err;
    }
    const freshDue = expiresAt(fresh);
    if (freshDue === undefined) return;
    if (freshDue > now) {
      this.queue.addAfter(key, freshDue - now);
      return;
    }
    try {
      await this.client.delete(jobsResource, namespace, name, {
        uid: fresh.metadata.uid ?? "",
        propagationPolicy: "Foreground",
      });
    } catch (err) {
      if (!isApiError(err, "NotFound")) throw err;
    }
  }

  private enqueueIfDue(job: DeepReadonly<Job>): void {
    if (expiresAt(job) !== undefined) this.queue.add(objectKey(job));
  }
}
