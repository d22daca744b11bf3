/**
 * The StatefulSet controller. One level-triggered `sync(key)` reads the set, its pods, claims and
 * ControllerRevisions from the caches and takes the next steps (upstream's
 * stateful_set_control.go):
 *
 * 1. history: the update revision is the revision holding the current template (made, or an old
 *    one renumbered); the current revision is the one in status until the update completes;
 * 2. pods in range [start, start+replicas), lowest ordinal first: claims made before the pod, a
 *    missing pod created (from the current revision below the partition, else the update revision),
 *    a failed or succeeded pod deleted to be made again. OrderedReady stops at the first pod not
 *    Running and Ready; Parallel goes on;
 * 3. pods beyond the range, highest ordinal first: deleted (OrderedReady: one at a time, only once
 *    the rest are Running and Ready), their claims handed to the pod for deletion when
 *    whenScaled is Delete;
 * 4. RollingUpdate: from the highest ordinal down to the partition, the first pod of an old
 *    revision is deleted (it comes back at the update revision), one at a time, waiting for each
 *    updated pod to be Ready;
 * 5. status, then history beyond revisionHistoryLimit removed.
 *
 * Pods have fixed names, so a create that raced an earlier one meets AlreadyExists and no
 * expectations are needed. Handlers only enqueue.
 */

import { isApiError } from "../../../foundation/api/errors.js";
import { matchesSelector, type Selector, selectorFromLabelSelector } from "../../../foundation/api/labels.js";
import { objectKey } from "../../../foundation/api/object.js";
import { controllerRefOf } from "../../../foundation/api/owner-references.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import type { Clock } from "../../../foundation/util/clock.js";
import {
  byRevision,
  newRevision,
  nextRevisionNumber,
  sameData,
  templateOf,
} from "../../../foundation/workloads/statefulset/revisions.js";
import type {
  ControllerRevision,
  PersistentVolumeClaim,
  Pod,
  StatefulSet,
  StatefulSetStatus,
} from "../../../proto/gen/api.js";
import type { ControllerClient } from "../../client/controller-client.js";
import { claimChildren } from "../../client/controller-ref.js";
import type { EventRecorder } from "../../client/events.js";
import {
  byOwnerUidIndex,
  type DeepReadonly,
  type EventHandler,
  type Lister,
  splitKey,
} from "../../client/index.js";
import { isPodReady } from "../../client/pod-state.js";
import { newClaims, newPod, ordinalOf, ordinalRange, podName, revisionLabel } from "./identity.js";
import { calculateStatus, sameStatus } from "./status.js";

export const podsResource = resourceForKind("v1", "Pod")!;
export const statefulSetsResource = resourceForKind("apps/v1", "StatefulSet")!;
export const claimsResource = resourceForKind("v1", "PersistentVolumeClaim")!;
export const revisionsResource = resourceForKind("apps/v1", "ControllerRevision")!;

type Set = DeepReadonly<StatefulSet>;
type ReadonlyPod = DeepReadonly<Pod>;
type Revision = DeepReadonly<ControllerRevision>;

export interface StatefulSetControllerOptions {
  sets: Lister<StatefulSet>;
  /** Must carry the byOwnerUid index, as the revisions cache. */
  pods: Lister<Pod>;
  claims: Lister<PersistentVolumeClaim>;
  revisions: Lister<ControllerRevision>;
  client: ControllerClient;
  recorder: EventRecorder;
  clock: Clock;
  queue: { add(key: string): void };
}

const runningAndReady = (pod: ReadonlyPod) => pod.status?.phase === "Running" && isPodReady(pod);
const finished = (pod: ReadonlyPod) => pod.status?.phase === "Failed" || pod.status?.phase === "Succeeded";

export class StatefulSetController {
  constructor(private readonly o: StatefulSetControllerOptions) {}

  readonly setHandler: EventHandler<StatefulSet> = {
    onAdd: (s) => this.o.queue.add(objectKey(s)),
    onUpdate: (_old, s) => this.o.queue.add(objectKey(s)),
    onDelete: (s) => this.o.queue.add(objectKey(s)),
  };

  readonly podHandler: EventHandler<Pod> = {
    onAdd: (pod) => this.podChanged(pod),
    onUpdate: (old, pod) => {
      if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
      this.podChanged(pod);
    },
    onDelete: (pod) => this.podChanged(pod),
  };

  readonly revisionHandler: EventHandler<ControllerRevision> = {
    onAdd: (rev) => this.ownerChanged(rev),
    onDelete: (rev) => this.ownerChanged(rev),
  };

  private podChanged(pod: ReadonlyPod): void {
    if (controllerRefOf(pod)) {
      this.ownerChanged(pod);
      return;
    }
    // An orphan: the sets that may adopt it.
    for (const set of this.o.sets.list()) {
      if (set.metadata.namespace !== pod.metadata.namespace) continue;
      try {
        if (matchesSelector(selectorFromLabelSelector(set.spec?.selector ?? {}), pod.metadata.labels))
          this.o.queue.add(objectKey(set));
      } catch {
        // A bad selector adopts nothing.
      }
    }
  }

  private ownerChanged(obj: { metadata: DeepReadonly<Pod["metadata"]> }): void {
    const ref = controllerRefOf(obj as ReadonlyPod);
    if (ref?.kind !== "StatefulSet") return;
    this.o.queue.add(`${obj.metadata.namespace}/${ref.name}`);
  }

  /** Reconciles the StatefulSet under `key` ("namespace/name"). Throws to be retried with backoff. */
  async sync(key: string): Promise<void> {
    const { namespace } = splitKey(key);
    const set = this.o.sets.get(key);
    if (!set) return;
    let selector: Selector;
    try {
      selector = selectorFromLabelSelector(set.spec?.selector ?? {});
    } catch (err) {
      this.o.recorder.event(set, "Warning", "InvalidSelector", (err as Error).message);
      return;
    }
    if (selector.requirements.length === 0) {
      this.o.recorder.event(
        set,
        "Warning",
        "SelectingAll",
        "This StatefulSet selects all pods. A non-empty selector is required.",
      );
      return;
    }
    const candidates = this.o.pods.list().filter((p) => p.metadata.namespace === namespace);
    const pods = (
      await claimChildren(candidates, {
        owner: set,
        ownerInfo: statefulSetsResource,
        selector,
        childInfo: podsResource,
        client: this.o.client,
      })
    ).filter((p) => ordinalOf(set, p.metadata.name) !== undefined);
    const revisions = this.o.revisions
      .byIndex(byOwnerUidIndex, set.metadata.uid ?? "")
      .filter((r) => controllerRefOf(r)?.uid === set.metadata.uid);
    const update = await this.updateRevision(set, revisions);
    const current = revisions.find((r) => r.metadata.name === set.status?.currentRevision) ?? update;
    let manageError: unknown;
    if (!set.metadata.deletionTimestamp) {
      try {
        await this.managePods(set, pods, current, update);
      } catch (err) {
        manageError = err;
      }
    }
    const status = calculateStatus(
      set,
      pods,
      current.metadata.name ?? "",
      update.metadata.name ?? "",
      this.o.clock.now(),
    );
    if (!sameStatus(set.status, status)) await this.writeStatus(set, status);
    await this.truncateHistory(set, revisions, pods, [current, update]);
    if (manageError !== undefined) throw manageError;
  }

  /** The revision of the set's current template: the newest if it holds it, else made or renumbered. */
  private async updateRevision(set: Set, revisions: readonly Revision[]): Promise<Revision> {
    const sorted = byRevision(revisions);
    const equal = sorted.filter((r) => sameData(r, set));
    const latest = equal.at(-1);
    if (latest && latest === sorted.at(-1)) return latest;
    if (latest) {
      const copy = structuredClone(latest) as ControllerRevision;
      copy.revision = nextRevisionNumber(sorted);
      return this.o.client.update(revisionsResource, copy);
    }
    const rev = newRevision(set, nextRevisionNumber(sorted));
    try {
      return await this.o.client.create(revisionsResource, set.metadata.namespace ?? "", rev);
    } catch (err) {
      if (!isApiError(err, "AlreadyExists")) throw err;
      // Made by an earlier sync the cache has not shown yet, or a hash collision.
      const existing = await this.o.client.get<ControllerRevision>(
        revisionsResource,
        rev.metadata.namespace ?? "",
        rev.metadata.name ?? "",
      );
      if (controllerRefOf(existing)?.uid === set.metadata.uid && sameData(existing, set)) return existing;
      await this.writeStatus(set, {
        ...(structuredClone(set.status ?? {}) as StatefulSetStatus),
        collisionCount: (set.status?.collisionCount ?? 0) + 1,
      });
      throw err;
    }
  }

  private async managePods(
    set: Set,
    pods: readonly ReadonlyPod[],
    current: Revision,
    update: Revision,
  ): Promise<void> {
    const [start, end] = ordinalRange(set);
    const ordered = set.spec?.podManagementPolicy !== "Parallel";
    const byOrdinal = new Map<number, ReadonlyPod>();
    const condemned: ReadonlyPod[] = [];
    for (const pod of pods) {
      const ordinal = ordinalOf(set, pod.metadata.name)!;
      if (ordinal >= start && ordinal < end) byOrdinal.set(ordinal, pod);
      else condemned.push(pod);
    }
    const strategy = set.spec?.updateStrategy;
    const partition = strategy?.type === "RollingUpdate" ? (strategy.rollingUpdate?.partition ?? 0) : 0;

    for (let ordinal = start; ordinal < end; ordinal++) {
      const pod = byOrdinal.get(ordinal);
      if (!pod) {
        await this.ensureClaims(set, ordinal);
        // Below the partition a pod keeps the current revision, as a rolling update would leave it.
        const rev = strategy?.type === "RollingUpdate" && ordinal < partition ? current : update;
        await this.createPod(set, newPod(set, ordinal, templateOf(rev), rev.metadata.name ?? ""));
        if (ordered) return;
        continue;
      }
      if (finished(pod) && !pod.metadata.deletionTimestamp) {
        await this.deletePod(set, pod);
        if (ordered) return;
        continue;
      }
      if (ordered && (pod.metadata.deletionTimestamp || !runningAndReady(pod))) return;
    }

    condemned.sort((a, b) => ordinalOf(set, b.metadata.name)! - ordinalOf(set, a.metadata.name)!);
    for (const pod of condemned) {
      if (pod.metadata.deletionTimestamp) {
        if (ordered) return;
        continue;
      }
      if (set.spec?.persistentVolumeClaimRetentionPolicy?.whenScaled === "Delete")
        await this.handClaimsToPod(set, ordinalOf(set, pod.metadata.name)!, pod);
      await this.deletePod(set, pod);
      if (ordered) return;
    }

    if (strategy?.type !== "RollingUpdate") return;
    // Highest ordinal first, one pod at a time, each updated pod Ready before the next goes.
    for (let ordinal = end - 1; ordinal >= Math.max(start, partition); ordinal--) {
      const pod = byOrdinal.get(ordinal);
      if (!pod) return;
      if (pod.metadata.labels?.[revisionLabel] !== update.metadata.name) {
        if (!pod.metadata.deletionTimestamp) await this.deletePod(set, pod);
        return;
      }
      if (!runningAndReady(pod)) return;
    }
  }

  /**
   * Makes the claims of `ordinal` that do not exist, and keeps the existing ones' owners as the
   * retention policy says: the set as owner when whenDeleted is Delete, and no pod as owner (a claim
   * handed to a condemned pod that comes back in range is kept).
   */
  private async ensureClaims(set: Set, ordinal: number): Promise<void> {
    for (const want of newClaims(set, ordinal)) {
      const name = want.metadata.name ?? "";
      const have = this.o.claims.get(`${want.metadata.namespace}/${name}`);
      if (!have) {
        try {
          await this.o.client.create(claimsResource, want.metadata.namespace ?? "", want);
          this.o.recorder.event(
            set,
            "Normal",
            "SuccessfulCreate",
            `create Claim ${name} Pod ${podName(set, ordinal)} in StatefulSet ${set.metadata.name} success`,
          );
        } catch (err) {
          if (isApiError(err, "AlreadyExists")) continue;
          this.o.recorder.event(
            set,
            "Warning",
            "FailedCreate",
            `create Claim ${name} for Pod ${podName(set, ordinal)} in StatefulSet ${set.metadata.name} failed error: ${(err as Error).message}`,
          );
          throw err;
        }
        continue;
      }
      const others = (have.metadata.ownerReferences ?? []).filter(
        (r) => r.kind !== "Pod" && r.uid !== set.metadata.uid,
      );
      const refs = [...others, ...(want.metadata.ownerReferences ?? [])];
      if (JSON.stringify(refs) !== JSON.stringify(have.metadata.ownerReferences ?? [])) {
        await this.o.client.patch(claimsResource, want.metadata.namespace ?? "", name, {
          metadata: { ownerReferences: refs },
        });
      }
    }
  }

  /** whenScaled: Delete — the condemned pod owns its claims, so they go with it (garbage collector). */
  private async handClaimsToPod(set: Set, ordinal: number, pod: ReadonlyPod): Promise<void> {
    for (const want of newClaims(set, ordinal)) {
      const have = this.o.claims.get(`${want.metadata.namespace}/${want.metadata.name}`);
      if (!have || have.metadata.ownerReferences?.some((r) => r.uid === pod.metadata.uid)) continue;
      const podRef = {
        apiVersion: "v1",
        kind: "Pod",
        name: pod.metadata.name ?? "",
        uid: pod.metadata.uid ?? "",
      };
      await this.o.client.patch(claimsResource, have.metadata.namespace ?? "", have.metadata.name ?? "", {
        metadata: { ownerReferences: [...(have.metadata.ownerReferences ?? []), podRef] },
      });
    }
  }

  private async createPod(set: Set, pod: Pod): Promise<void> {
    try {
      await this.o.client.create(podsResource, set.metadata.namespace ?? "", pod);
      this.o.recorder.event(
        set,
        "Normal",
        "SuccessfulCreate",
        `create Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`,
      );
    } catch (err) {
      if (isApiError(err, "AlreadyExists")) return;
      this.o.recorder.event(
        set,
        "Warning",
        "FailedCreate",
        `create Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${(err as Error).message}`,
      );
      throw err;
    }
  }

  private async deletePod(set: Set, pod: ReadonlyPod): Promise<void> {
    const { namespace = "", name = "", uid } = pod.metadata;
    try {
      await this.o.client.delete(podsResource, namespace, name, uid ? { uid } : {});
      this.o.recorder.event(
        set,
        "Normal",
        "SuccessfulDelete",
        `delete Pod ${name} in StatefulSet ${set.metadata.name} successful`,
      );
    } catch (err) {
      if (isApiError(err, "NotFound")) return;
      this.o.recorder.event(
        set,
        "Warning",
        "FailedDelete",
        `delete Pod ${name} in StatefulSet ${set.metadata.name} failed error: ${(err as Error).message}`,
      );
      throw err;
    }
  }

  /** Removes the oldest revisions no pod uses beyond revisionHistoryLimit. */
  private async truncateHistory(
    set: Set,
    revisions: readonly Revision[],
    pods: readonly ReadonlyPod[],
    keep: readonly Revision[],
  ): Promise<void> {
    const live = new Set([
      ...keep.map((r) => r.metadata.name),
      ...pods.map((p) => p.metadata.labels?.[revisionLabel]),
    ]);
    const old = byRevision(revisions).filter((r) => !live.has(r.metadata.name));
    const excess = old.length - (set.spec?.revisionHistoryLimit ?? 10);
    for (const rev of old.slice(0, Math.max(0, excess))) {
      try {
        await this.o.client.delete(revisionsResource, rev.metadata.namespace ?? "", rev.metadata.name ?? "");
      } catch (err) {
        if (!isApiError(err, "NotFound")) throw err;
      }
    }
  }

  private async writeStatus(set: Set, status: StatefulSetStatus): Promise<void> {
    const copy = structuredClone(set) as StatefulSet;
    copy.status = status;
    try {
      await this.o.client.updateStatus(statefulSetsResource, copy);
    } catch (err) {
      if (!isApiError(err, "Conflict")) throw err;
      const fresh = await this.o.client.get<StatefulSet>(
        statefulSetsResource,
        set.metadata.namespace ?? "",
        set.metadata.name ?? "",
      );
      if (fresh.metadata.uid !== set.metadata.uid) throw err;
      fresh.status = status;
      await this.o.client.updateStatus(statefulSetsResource, fresh);
    }
  }
}
