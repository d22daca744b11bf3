/**
 * The DaemonSet controller: one pod per eligible node. One `sync(key)` reads the DaemonSet, nodes,
 * pods and ControllerRevisions from the informer caches, records the current template as a
 * revision, claims pods, creates the missing ones (the default scheduler binds them, led by a
 * required affinity on the node's name), deletes those that must go, takes one rolling-update step
 * when nothing else is in flight, trims history, and writes status. Event handlers only record
 * expectations and enqueue keys; cached objects are never edited.
 */

import { isApiError } from "../../../foundation/api/errors.js";
import { matchesSelector, type Selector, selectorFromLabelSelector } from "../../../foundation/api/labels.js";
import { objectKey } from "../../../foundation/api/object.js";
import { canonicalJson } from "../../../foundation/api/object-hash.js";
import { controllerRefOf } from "../../../foundation/api/owner-references.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import type { Clock } from "../../../foundation/util/clock.js";
import {
  controllerRevisionHashLabel,
  hashOf,
  matchingRevisions,
  newRevision,
  nextRevisionNumber,
  revisionsToTruncate,
  templatePatch,
} from "../../../foundation/workloads/history/index.js";
import type { ControllerRevision, DaemonSet, DaemonSetStatus, Node, Pod } from "../../../proto/gen/api.js";
import type { ControllerClient } from "../../client/controller-client.js";
import { claimChildren } from "../../client/controller-ref.js";
import type { EventRecorder } from "../../client/events.js";
import { type DeepReadonly, type EventHandler, type Lister, splitKey } from "../../client/index.js";
import { defaultBurstReplicas, Expectations, type KeyQueue, slowStartBatch } from "../replicaset/index.js";
import { newDaemonPod } from "./daemon-pod.js";
import { placementFor } from "./eligibility.js";
import { FailedPodBackoff } from "./failed-pod-backoff.js";
import { planManage } from "./manage.js";
import { podsByNode } from "./node-pods.js";
import { planRollingUpdate } from "./rolling.js";
import { calculateStatus, sameStatus } from "./status.js";

export const daemonSetsResource = resourceForKind("apps/v1", "DaemonSet")!;
export const controllerRevisionsResource = resourceForKind("apps/v1", "ControllerRevision")!;
export const podsResource = resourceForKind("v1", "Pod")!;
export const nodesResource = resourceForKind("v1", "Node")!;

type ReadonlyDaemonSet = DeepReadonly<DaemonSet>;
type ReadonlyPod = DeepReadonly<Pod>;
type ReadonlyRevision = DeepReadonly<ControllerRevision>;

export interface DaemonSetControllerOptions {
  daemonSets: Lister<DaemonSet>;
  /** Pod cache; must carry the `byOwnerUid` index. */
  pods: Lister<Pod>;
  nodes: Lister<Node>;
  revisions: Lister<ControllerRevision>;
  client: ControllerClient;
  recorder: EventRecorder;
  clock: Clock;
  queue: KeyQueue;
  burstReplicas?: number;
  expectationsTtlMs?: number;
}

export class DaemonSetController {
  readonly expectations: Expectations;
  private readonly backoff: FailedPodBackoff;
  private readonly o: DaemonSetControllerOptions;
  private readonly burst: number;

  constructor(opts: DaemonSetControllerOptions) {
    this.o = opts;
    this.burst = opts.burstReplicas ?? defaultBurstReplicas;
    this.expectations = new Expectations(opts.clock, opts.expectationsTtlMs);
    this.backoff = new FailedPodBackoff(opts.clock);
  }

  readonly daemonSetHandler: EventHandler<DaemonSet> = {
    onAdd: (ds) => this.o.queue.add(objectKey(ds)),
    onUpdate: (_old, ds) => this.o.queue.add(objectKey(ds)),
    onDelete: (ds) => {
      this.expectations.delete(objectKey(ds));
      this.o.queue.add(objectKey(ds));
    },
  };

  readonly podHandler: EventHandler<Pod> = {
    onAdd: (pod) => {
      if (pod.metadata.deletionTimestamp) return this.podGone(pod);
      const ds = this.controllingDaemonSet(pod);
      if (ds) {
        this.expectations.creationObserved(objectKey(ds));
        this.o.queue.add(objectKey(ds));
      } else if (!controllerRefOf(pod)) this.enqueueMatching(pod);
    },
    onUpdate: (old, pod) => {
      if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
      if (pod.metadata.deletionTimestamp) return this.podGone(pod);
      for (const p of [old, pod]) {
        const ds = this.controllingDaemonSet(p);
        if (ds) this.o.queue.add(objectKey(ds));
      }
      if (!controllerRefOf(pod)) this.enqueueMatching(pod);
    },
    onDelete: (pod) => this.podGone(pod),
  };

  /** A node appearing, going, or changing what placement reads (labels, taints) wakes every DaemonSet. */
  readonly nodeHandler: EventHandler<Node> = {
    onAdd: () => this.enqueueAll(),
    onUpdate: (old, node) => {
      if (
        JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(node.metadata.labels ?? {}) ||
        JSON.stringify(old.spec ?? {}) !== JSON.stringify(node.spec ?? {})
      )
        this.enqueueAll();
    },
    onDelete: () => this.enqueueAll(),
  };

  readonly revisionHandler: EventHandler<ControllerRevision> = {
    onAdd: (rev) => this.enqueueOwner(rev),
    onUpdate: (_old, rev) => this.enqueueOwner(rev),
    onDelete: (rev) => this.enqueueOwner(rev),
  };

  /** Reconciles the DaemonSet under `key` ("namespace/name"). Throws to be retried with backoff. */
  async sync(key: string): Promise<void> {
    const ds = this.o.daemonSets.get(key);
    if (!ds) {
      this.expectations.delete(key);
      return;
    }
    let selector: Selector;
    try {
      selector = selectorFromLabelSelector(ds.spec?.selector ?? {});
    } catch (err) {
      this.o.recorder.event(ds, "Warning", "InvalidSelector", (err as Error).message);
      return;
    }
    if (selector.requirements.length === 0) {
      this.o.recorder.event(
        ds,
        "Warning",
        "SelectingAll",
        "This daemon set is selecting all pods. A non-empty selector is required.",
      );
      return;
    }
    // A DaemonSet being deleted is left to the garbage collector.
    if (ds.metadata.deletionTimestamp) return;
    const { current, old } = await this.constructHistory(ds, selector);
    const hash = hashOf(current);
    const { namespace } = splitKey(key);
    const candidates = this.o.pods.list().filter((p) => p.metadata.namespace === namespace);
    const pods = await claimChildren(candidates, {
      owner: ds,
      ownerInfo: daemonSetsResource,
      selector,
      childInfo: podsResource,
      client: this.o.client,
    });
    const byNode = podsByNode(pods);
    const nodes = this.o.nodes.list();
    const placement = placementFor(ds);
    const now = this.o.clock.now();
    const satisfied = this.expectations.satisfied(key);
    let manageError: unknown;
    if (satisfied) {
      try {
        await this.manage(key, ds, nodes, placement, byNode, hash, now);
        await this.cleanupHistory(ds, old, byNode);
      } catch (err) {
        manageError = err;
      }
    }
    const status = calculateStatus(
      ds,
      nodes,
      placement,
      byNode,
      hash,
      now,
      satisfied,
      ds.status?.collisionCount ?? 0,
    );
    if (!sameStatus(ds.status, status)) await this.writeStatus(ds, status);
    if (manageError !== undefined) throw manageError;
    // No event announces a Ready pod turning available after minReadySeconds.
    const minReady = ds.spec?.minReadySeconds ?? 0;
    if (minReady > 0 && status.numberReady !== status.numberAvailable)
      this.o.queue.addAfter(key, minReady * 1000);
  }

  private async manage(
    key: string,
    ds: ReadonlyDaemonSet,
    nodes: readonly DeepReadonly<Node>[],
    placement: ReturnType<typeof placementFor>,
    byNode: Map<string, ReadonlyPod[]>,
    hash: string,
    now: number,
  ): Promise<void> {
    const plan = planManage({ ds, nodes, placement, byNode, hash, now, backoff: this.backoff });
    if (plan.retryAfterMs !== undefined) this.o.queue.addAfter(key, plan.retryAfterMs);
    for (const { pod, node } of plan.failed) {
      this.o.recorder.event(
        ds,
        "Warning",
        "FailedDaemonPod",
        `Found failed daemon pod ${pod.metadata.namespace}/${pod.metadata.name} on node ${node}, will try to kill it`,
      );
    }
    await this.syncNodes(key, ds, plan.deletePods, plan.createOn, hash);
    if (ds.spec?.updateStrategy?.type !== "RollingUpdate" || !this.expectations.satisfied(key)) return;
    const wanted = nodes.filter((n) => placement(n).shouldRun).map((n) => n.metadata.name ?? "");
    const roll = planRollingUpdate(ds, wanted, byNode, hash, now);
    await this.syncNodes(key, ds, roll.deletePods, roll.createOn, hash);
  }

  /** Deletes `deletePods` and creates a pod on each of `createOn` (at most the burst of each). */
  private async syncNodes(
    key: string,
    ds: ReadonlyDaemonSet,
    deletePods: readonly ReadonlyPod[],
    createOn: readonly string[],
    hash: string,
  ): Promise<void> {
    const creates = createOn.slice(0, this.burst);
    const deletes = deletePods.slice(0, this.burst);
    this.expectations.expect(key, creates.length, deletes.map(objectKey));
    let next = 0;
    const { successes, error } = await slowStartBatch(creates.length, () =>
      this.createPod(ds, creates[next++]!, hash),
    );
    // Creations never attempted or refused will produce no informer event to wait for.
    for (let i = successes; i < creates.length; i++) this.expectations.creationObserved(key);
    const results = await Promise.allSettled(deletes.map((pod) => this.deletePod(key, ds, pod)));
    const failed = results.find((r) => r.status === "rejected");
    if (error !== undefined) throw error;
    if (failed) throw failed.reason;
  }

  private async createPod(ds: ReadonlyDaemonSet, node: string, hash: string): Promise<void> {
    try {
      const pod = await this.o.client.create(
        podsResource,
        ds.metadata.namespace ?? "",
        newDaemonPod(ds, node, hash),
      );
      this.o.recorder.event(ds, "Normal", "SuccessfulCreate", `Created pod: ${pod.metadata.name}`);
    } catch (err) {
      this.o.recorder.event(ds, "Warning", "FailedCreate", `Error creating: ${(err as Error).message}`);
      throw err;
    }
  }

  private async deletePod(key: string, ds: ReadonlyDaemonSet, pod: ReadonlyPod): Promise<void> {
    const { namespace = "", name = "", uid } = pod.metadata;
    try {
      await this.o.client.delete(podsResource, namespace, name, uid ? { uid } : {});
      this.o.recorder.event(ds, "Normal", "SuccessfulDelete", `Deleted pod: ${name}`);
    } catch (err) {
      this.expectations.deletionObserved(key, objectKey(pod));
      if (isApiError(err, "NotFound")) return;
      this.o.recorder.event(ds, "Warning", "FailedDelete", `Error deleting: ${(err as Error).message}`);
      throw err;
    }
  }

  /**
   * The revision of the DaemonSet's current template (created, or renumbered to be the newest,
   * when needed) and the other revisions it owns. Duplicates of the current one, left by a race,
   * are deleted but the newest.
   */
  private async constructHistory(
    ds: ReadonlyDaemonSet,
    selector: Selector,
  ): Promise<{ current: ReadonlyRevision; old: ReadonlyRevision[] }> {
    const namespace = ds.metadata.namespace ?? "";
    const revisions = await claimChildren(
      this.o.revisions.list().filter((r) => r.metadata.namespace === namespace),
      {
        owner: ds,
        ownerInfo: daemonSetsResource,
        selector,
        childInfo: controllerRevisionsResource,
        client: this.o.client,
      },
    );
    const data = templatePatch(ds.spec?.template);
    const matching = matchingRevisions(revisions, data);
    const old = revisions.filter((r) => !matching.includes(r));
    const next = nextRevisionNumber(old);
    let current: ReadonlyRevision | undefined = matching.at(-1);
    if (!current) return { current: await this.snapshot(ds, data, next), old };
    for (const dup of matching.slice(0, -1)) {
      await this.o.client.delete(controllerRevisionsResource, namespace, dup.metadata.name ?? "", {
        uid: dup.metadata.uid ?? "",
      });
    }
    if ((current.revision ?? 0) < next) {
      const renumbered = structuredClone(current) as ControllerRevision;
      renumbered.revision = next;
      current = await this.o.client.update<ControllerRevision>(controllerRevisionsResource, renumbered);
    }
    return { current, old };
  }

  /**
   * Creates revision `revision` of `data`. Its name already taken by a different template (a hash
   * collision) bumps status.collisionCount, which changes the hash, and fails this sync to retry.
   */
  private async snapshot(
    ds: ReadonlyDaemonSet,
    data: Record<string, unknown>,
    revision: number,
  ): Promise<ReadonlyRevision> {
    const namespace = ds.metadata.namespace ?? "";
    const collisions = ds.status?.collisionCount ?? 0;
    const rev = newRevision(ds, ds.spec?.template?.metadata?.labels, data, revision, collisions);
    try {
      return await this.o.client.create(controllerRevisionsResource, namespace, rev);
    } catch (err) {
      if (!isApiError(err, "AlreadyExists")) throw err;
      const name = rev.metadata.name ?? "";
      const existing = await this.o.client.get<ControllerRevision>(
        controllerRevisionsResource,
        namespace,
        name,
      );
      if (canonicalJson(existing.data) === canonicalJson(data)) return existing;
      const fresh = await this.o.client.get<DaemonSet>(daemonSetsResource, namespace, ds.metadata.name ?? "");
      if ((fresh.status?.collisionCount ?? 0) === collisions) {
        fresh.status = { ...fresh.status, collisionCount: collisions + 1 };
        await this.o.client.updateStatus(daemonSetsResource, fresh);
      }
      throw err;
    }
  }

  /** Deletes the oldest revisions past revisionHistoryLimit that no pod still runs. */
  private async cleanupHistory(
    ds: ReadonlyDaemonSet,
    old: readonly ReadonlyRevision[],
    byNode: ReadonlyMap<string, readonly ReadonlyPod[]>,
  ): Promise<void> {
    const live = new Set<string>();
    for (const pods of byNode.values()) {
      for (const p of pods) {
        const h = p.metadata.labels?.[controllerRevisionHashLabel];
        if (h) live.add(h);
      }
    }
    for (const rev of revisionsToTruncate(old, live, ds.spec?.revisionHistoryLimit ?? 10)) {
      try {
        await this.o.client.delete(
          controllerRevisionsResource,
          rev.metadata.namespace ?? "",
          rev.metadata.name ?? "",
          {
            uid: rev.metadata.uid ?? "",
          },
        );
      } catch (err) {
        if (!isApiError(err, "NotFound")) throw err;
      }
    }
  }

  /**
   * Writes `status` over the cached `ds`; a Conflict (the cache behind our own last write) is
   * retried once on a fresh read, keeping the fresh collisionCount.
   */
  private async writeStatus(ds: ReadonlyDaemonSet, status: DaemonSetStatus): Promise<void> {
    const copy = structuredClone(ds) as DaemonSet;
    copy.status = status;
    try {
      await this.o.client.updateStatus(daemonSetsResource, copy);
    } catch (err) {
      if (!isApiError(err, "Conflict")) throw err;
      const { namespace = "", name = "" } = ds.metadata;
      const fresh = await this.o.client.get<DaemonSet>(daemonSetsResource, namespace, name);
      if (fresh.metadata.uid !== ds.metadata.uid) throw err;
      const collisionCount = fresh.status?.collisionCount;
      fresh.status = { ...status, ...(collisionCount ? { collisionCount } : {}) };
      await this.o.client.updateStatus(daemonSetsResource, fresh);
    }
  }

  private controllingDaemonSet(pod: ReadonlyPod): ReadonlyDaemonSet | undefined {
    const ref = controllerRefOf(pod);
    if (ref?.kind !== "DaemonSet") return undefined;
    const ds = this.o.daemonSets.get(
      objectKey({ metadata: { namespace: pod.metadata.namespace, name: ref.name } }),
    );
    return ds && ds.metadata.uid === ref.uid ? ds : undefined;
  }

  private podGone(pod: ReadonlyPod): void {
    const ds = this.controllingDaemonSet(pod);
    if (!ds) return;
    const key = objectKey(ds);
    this.expectations.deletionObserved(key, objectKey(pod));
    this.o.queue.add(key);
  }

  private enqueueMatching(pod: ReadonlyPod): void {
    for (const ds of this.o.daemonSets.list()) {
      if (ds.metadata.namespace !== pod.metadata.namespace) continue;
      try {
        const selector = selectorFromLabelSelector(ds.spec?.selector ?? {});
        if (selector.requirements.length > 0 && matchesSelector(selector, pod.metadata.labels))
          this.o.queue.add(objectKey(ds));
      } catch {
        // A selector validation let through cannot match anything.
      }
    }
  }

  private enqueueAll(): void {
    for (const ds of this.o.daemonSets.list()) this.o.queue.add(objectKey(ds));
  }

  private enqueueOwner(rev: ReadonlyRevision): void {
    const ref = controllerRefOf(rev);
    if (ref?.kind !== "DaemonSet") return;
    this.o.queue.add(objectKey({ metadata: { namespace: rev.metadata.namespace, name: ref.name } }));
  }
}
