/**
 * The ReplicaSet controller: keeps `spec.replicas` pods matching each ReplicaSet's selector. One
 * `sync(key)` reads the ReplicaSet and pods from the informer caches, claims pods through controller
 * references (adopting matching orphans, releasing pods whose labels stopped matching), creates or
 * deletes the difference, and writes status. Event handlers only record expectations and enqueue
 * keys. Cached objects are frozen and never edited; every write starts from a copy.
 */

import { isApiError } from "../../../foundation/api/errors.js";
import { matchesSelector, type Selector, selectorFromLabelSelector } from "../../../foundation/api/labels.js";
import { objectKey } from "../../../foundation/api/object.js";
import { controllerRefOf, newControllerRef } from "../../../foundation/api/owner-references.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import type { Clock } from "../../../foundation/util/clock.js";
import type { ObjectMeta, Pod, PodSpec, ReplicaSet, ReplicaSetStatus } from "../../../proto/gen/api.js";
import type { ControllerClient } from "../../client/controller-client.js";
import { claimChildren } from "../../client/controller-ref.js";
import type { EventRecorder } from "../../client/events.js";
import {
  byOwnerUidIndex,
  type DeepReadonly,
  type EventHandler,
  type Lister,
  splitKey,
  type WorkQueue,
} from "../../client/index.js";
import { isPodActive } from "../../client/pod-state.js";
import { Expectations } from "./expectations.js";
import { podsToDelete } from "./pod-ranking.js";
import { calculateStatus, nextAvailableIn, sameStatus } from "./status.js";

export const podsResource = resourceForKind("v1", "Pod")!;
export const replicaSetsResource = resourceForKind("apps/v1", "ReplicaSet")!;

/** Kubernetes' BurstReplicas: at most this many pods created or deleted by one sync. */
export const defaultBurstReplicas = 500;

/** The part of the work queue a controller's handlers and sync use. */
export type KeyQueue = Pick<WorkQueue, "add" | "addAfter">;

type ReadonlyPod = DeepReadonly<Pod>;
type ReadonlyReplicaSet = DeepReadonly<ReplicaSet>;

export interface ReplicaSetControllerOptions {
  /** Pod cache; must carry the `byOwnerUid` index (client/indexers.ts). */
  pods: Lister<Pod>;
  /** ReplicaSet cache; must carry the `byOwnerUid` index. */
  replicaSets: Lister<ReplicaSet>;
  client: ControllerClient;
  recorder: EventRecorder;
  clock: Clock;
  queue: KeyQueue;
  burstReplicas?: number;
  expectationsTtlMs?: number;
}

export class ReplicaSetController {
  readonly expectations: Expectations;
  private readonly pods: Lister<Pod>;
  private readonly replicaSets: Lister<ReplicaSet>;
  private readonly client: ControllerClient;
  private readonly recorder: EventRecorder;
  private readonly clock: Clock;
  private readonly queue: KeyQueue;
  private readonly burst: number;

  constructor(opts: ReplicaSetControllerOptions) {
    this.pods = opts.pods;
    this.replicaSets = opts.replicaSets;
    this.client = opts.client;
    this.recorder = opts.recorder;
    this.clock = opts.clock;
    this.queue = opts.queue;
    this.burst = opts.burstReplicas ?? defaultBurstReplicas;
    this.expectations = new Expectations(opts.clock, opts.expectationsTtlMs);
  }

  readonly replicaSetHandler: EventHandler<ReplicaSet> = {
    onAdd: (rs) => this.queue.add(objectKey(rs)),
    // Resyncs (old === new) also land here: that is the periodic full reconcile.
    onUpdate: (_old, rs) => this.queue.add(objectKey(rs)),
    onDelete: (rs) => {
      this.expectations.delete(objectKey(rs));
      this.queue.add(objectKey(rs));
    },
  };

  readonly podHandler: EventHandler<Pod> = {
    onAdd: (pod) => {
      // A controller (re)starting meets pods already being deleted as adds.
      if (pod.metadata.deletionTimestamp) return this.podGone(pod);
      const rs = this.controllingReplicaSet(pod);
      if (rs) {
        this.expectations.creationObserved(objectKey(rs));
        this.queue.add(objectKey(rs));
        return;
      }
      if (!controllerRefOf(pod)) this.enqueueMatching(pod);
    },
    onUpdate: (old, pod) => {
      // Same version: an informer resync; the ReplicaSet informer's resync already revisits owners.
      if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
      const labelsChanged =
        JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(pod.metadata.labels ?? {});
      if (pod.metadata.deletionTimestamp) {
        this.podGone(pod);
        if (labelsChanged) this.podGone(old);
        return;
      }
      const oldRef = controllerRefOf(old);
      const ref = controllerRefOf(pod);
      const refChanged = oldRef?.uid !== ref?.uid;
      if (refChanged && oldRef) {
        const previous = this.controllingReplicaSet(old);
        if (previous) this.queue.add(objectKey(previous));
      }
      if (ref) {
        const rs = this.controllingReplicaSet(pod);
        if (rs) this.queue.add(objectKey(rs));
        return;
      }
      if (labelsChanged || refChanged) this.enqueueMatching(pod);
    },
    onDelete: (pod) => this.podGone(pod),
  };

  /** Reconciles the ReplicaSet under `key` ("namespace/name"). Throws to be retried with backoff. */
  async sync(key: string): Promise<void> {
    const { namespace } = splitKey(key);
    const rs = this.replicaSets.get(key);
    if (!rs) {
      this.expectations.delete(key);
      return;
    }
    const needsManage = this.expectations.satisfied(key);
    let selector: Selector;
    try {
      selector = selectorFromLabelSelector(rs.spec?.selector ?? {});
    } catch (err) {
      // Validation keeps bad selectors out; a retry cannot fix one that got in.
      this.recorder.event(rs, "Warning", "InvalidSelector", (err as Error).message);
      return;
    }
    if (selector.requirements.length === 0) {
      // An empty selector would adopt every orphan pod in the namespace.
      this.recorder.event(
        rs,
        "Warning",
        "SelectingAll",
        "This ReplicaSet selects all pods. A non-empty selector is required.",
      );
      return;
    }
    const candidates = this.pods.list().filter((p) => p.metadata.namespace === namespace && isPodActive(p));
    const pods = await claimChildren(candidates, {
      owner: rs,
      ownerInfo: replicaSetsResource,
      selector,
      childInfo: podsResource,
      client: this.client,
    });
    let manageError: unknown;
    if (needsManage && !rs.metadata.deletionTimestamp) {
      try {
        await this.manageReplicas(key, rs, pods);
      } catch (err) {
        manageError = err;
      }
    }
    const now = this.clock.now();
    const status = calculateStatus(rs, pods, manageError, now);
    if (!sameStatus(rs.status, status)) await this.writeStatus(rs, status);
    if (manageError !== undefined) throw manageError;
    const wait = nextAvailableIn(pods, rs.spec?.minReadySeconds ?? 0, now);
    if (wait !== undefined) this.queue.addAfter(key, wait);
  }

  /**
   * Writes `status` over the cached `rs`. The cache may lag behind our own last status write, so a
   * Conflict is retried once on a fresh read (as Kubernetes does) before the sync fails.
   */
  private async writeStatus(rs: ReadonlyReplicaSet, status: ReplicaSetStatus): Promise<void> {
    const copy = structuredClone(rs) as ReplicaSet;
    copy.status = status;
    try {
      await this.client.updateStatus(replicaSetsResource, copy);
    } catch (err) {
      if (!isApiError(err, "Conflict")) throw err;
      const { namespace = "", name = "" } = rs.metadata;
      const fresh = await this.client.get<ReplicaSet>(replicaSetsResource, namespace, name);
      if (fresh.metadata.uid !== rs.metadata.uid) throw err;
      fresh.status = status;
      await this.client.updateStatus(replicaSetsResource, fresh);
    }
  }

  private async manageReplicas(
    key: string,
    rs: ReadonlyReplicaSet,
    pods: readonly ReadonlyPod[],
  ): Promise<void> {
    const diff = pods.length - (rs.spec?.replicas ?? 1);
    if (diff < 0) {
      const count = Math.min(-diff, this.burst);
      this.expectations.expectCreations(key, count);
      const { successes, error } = await slowStartBatch(count, () => this.createPod(rs));
      // Creations never attempted or refused will produce no informer event to wait for.
      for (let i = successes; i < count; i++) this.expectations.creationObserved(key);
      if (error !== undefined) throw error;
    } else if (diff > 0) {
      const count = Math.min(diff, this.burst);
      const victims = podsToDelete(pods, this.relatedPods(rs), count);
      this.expectations.expectDeletions(key, victims.map(objectKey));
      const results = await Promise.allSettled(victims.map((pod) => this.deletePod(key, rs, pod)));
      const failed = results.find((r) => r.status === "rejected");
      if (failed) throw failed.reason;
    }
  }

  private async createPod(rs: ReadonlyReplicaSet): Promise<void> {
    try {
      const pod = await this.client.create(podsResource, rs.metadata.namespace ?? "", podFromTemplate(rs));
      this.recorder.event(rs, "Normal", "SuccessfulCreate", `Created pod: ${pod.metadata.name}`);
    } catch (err) {
      this.recorder.event(rs, "Warning", "FailedCreate", `Error creating: ${(err as Error).message}`);
      throw err;
    }
  }

  private async deletePod(key: string, rs: ReadonlyReplicaSet, pod: ReadonlyPod): Promise<void> {
    const { namespace = "", name = "", uid } = pod.metadata;
    try {
      await this.client.delete(podsResource, namespace, name, uid ? { uid } : {});
      this.recorder.event(rs, "Normal", "SuccessfulDelete", `Deleted pod: ${name}`);
    } catch (err) {
      // A failed delete will produce no event to wait for.
      this.expectations.deletionObserved(key, objectKey(pod));
      if (isApiError(err, "NotFound")) return;
      this.recorder.event(rs, "Warning", "FailedDelete", `Error deleting: ${(err as Error).message}`);
      throw err;
    }
  }

  /**
   * Active pods of every ReplicaSet under the same controller as `rs` (all of a Deployment's
   * ReplicaSets): deleting from crowded nodes first keeps the whole Deployment spread.
   */
  private relatedPods(rs: ReadonlyReplicaSet): ReadonlyPod[] {
    const ref = controllerRefOf(rs);
    const siblings = new Map<string, ReadonlyReplicaSet>([[rs.metadata.uid ?? "", rs]]);
    if (ref?.uid) {
      for (const other of this.replicaSets.byIndex(byOwnerUidIndex, ref.uid)) {
        if (controllerRefOf(other)?.uid === ref.uid) siblings.set(other.metadata.uid ?? "", other);
      }
    }
    return [...siblings.keys()].flatMap((uid) =>
      this.pods
        .byIndex(byOwnerUidIndex, uid)
        .filter((p) => isPodActive(p) && controllerRefOf(p)?.uid === uid),
    );
  }

  /** The cached ReplicaSet `pod`'s controller reference points at, if it is one and still the same object. */
  private controllingReplicaSet(pod: ReadonlyPod): ReadonlyReplicaSet | undefined {
    const ref = controllerRefOf(pod);
    if (ref?.kind !== "ReplicaSet") return undefined;
    const rs = this.replicaSets.get(
      objectKey({ metadata: { namespace: pod.metadata.namespace, name: ref.name } }),
    );
    return rs && rs.metadata.uid === ref.uid ? rs : undefined;
  }

  /** Wakes every ReplicaSet that could adopt the orphan `pod`. */
  private enqueueMatching(pod: ReadonlyPod): void {
    for (const rs of this.replicaSets.list()) {
      if (rs.metadata.namespace !== pod.metadata.namespace) continue;
      let selector: Selector;
      try {
        selector = selectorFromLabelSelector(rs.spec?.selector ?? {});
      } catch {
        continue;
      }
      if (selector.requirements.length > 0 && matchesSelector(selector, pod.metadata.labels)) {
        this.queue.add(objectKey(rs));
      }
    }
  }

  private podGone(pod: ReadonlyPod): void {
    const rs = this.controllingReplicaSet(pod);
    if (!rs) return;
    const key = objectKey(rs);
    this.expectations.deletionObserved(key, objectKey(pod));
    this.queue.add(key);
  }
}

/** A new pod for `rs`: its template's metadata and spec, named `<rs>-<random>`, controlled by `rs`. */
export function podFromTemplate(rs: ReadonlyReplicaSet): Pod {
  const template = rs.spec?.template;
  const metadata: ObjectMeta = {
    generateName: `${rs.metadata.name}-`,
    namespace: rs.metadata.namespace ?? "",
    labels: { ...template?.metadata?.labels },
    ownerReferences: [newControllerRef(rs)],
  };
  if (template?.metadata?.annotations) metadata.annotations = { ...template.metadata.annotations };
  if (template?.metadata?.finalizers) metadata.finalizers = [...template.metadata.finalizers];
  return { apiVersion: "v1", kind: "Pod", metadata, spec: structuredClone(template?.spec ?? {}) as PodSpec };
}

/**
 * Runs `count` calls in batches of 1, 2, 4, ... (Kubernetes' slowStartBatch), stopping after the
 * first batch with a failure: a quota or admission error then costs one call, not hundreds.
 */
export async function slowStartBatch(
  count: number,
  fn: () => Promise<void>,
): Promise<{ successes: number; error: unknown }> {
  let successes = 0;
  let remaining = count;
  for (let batch = Math.min(1, remaining); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, fn));
    successes += results.filter((r) => r.status === "fulfilled").length;
    const failed = results.find((r) => r.status === "rejected");
    if (failed) return { successes, error: failed.reason };
    remaining -= batch;
  }
  return { successes, error: undefined };
}
