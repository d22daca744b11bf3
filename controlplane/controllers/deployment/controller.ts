/**
 * The Deployment controller: one `sync(key)` per Deployment reads it, its ReplicaSets and (for
 * Recreate) their pods from the informer caches, claims ReplicaSets through controller references,
 * and hands over to pausing/scaling (sync.ts), the strategy (rolling.ts, recreate.ts) and progress
 * (progress.ts). Event handlers only enqueue keys. Cached objects are never edited: the sync works
 * on a private copy of the Deployment and writes ReplicaSets from copies.
 */

import { matchesSelector, type Selector, selectorFromLabelSelector } from "../../../foundation/api/labels.js";
import { objectKey } from "../../../foundation/api/object.js";
import { controllerRefOf } from "../../../foundation/api/owner-references.js";
import type { Clock } from "../../../foundation/util/clock.js";
import type { ReadonlyReplicaSet } from "../../../foundation/workloads/deployment/replica-sets.js";
import type { Deployment, Pod, ReplicaSet } from "../../../proto/gen/api.js";
import type { ControllerClient } from "../../client/controller-client.js";
import type { EventRecorder } from "../../client/events.js";
import {
  byOwnerUidIndex,
  claimChildren,
  type DeepReadonly,
  type EventHandler,
  type Lister,
} from "../../client/index.js";
import { type KeyQueue, replicaSetsResource } from "../replicaset/index.js";
import { type PodsByReplicaSet, rolloutRecreate } from "./recreate.js";
import { rolloutRolling } from "./rolling.js";
import {
  checkPausedConditions,
  deploymentsResource,
  isScalingEvent,
  replicaSetsAndSyncRevision,
  type SyncContext,
  syncScaleOnly,
  syncStatusOnly,
  writeStatus,
} from "./sync.js";

type ReadonlyDeployment = DeepReadonly<Deployment>;

export interface DeploymentControllerOptions {
  deployments: Lister<Deployment>;
  /** Must carry the `byOwnerUid` index. */
  replicaSets: Lister<ReplicaSet>;
  /** Must carry the `byOwnerUid` index. */
  pods: Lister<Pod>;
  client: ControllerClient;
  recorder: EventRecorder;
  clock: Clock;
  queue: KeyQueue;
}

export class DeploymentController {
  private readonly o: DeploymentControllerOptions;

  constructor(opts: DeploymentControllerOptions) {
    this.o = opts;
  }

  readonly deploymentHandler: EventHandler<Deployment> = {
    onAdd: (d) => this.o.queue.add(objectKey(d)),
    onUpdate: (_old, d) => this.o.queue.add(objectKey(d)),
    onDelete: (d) => this.o.queue.add(objectKey(d)),
  };

  readonly replicaSetHandler: EventHandler<ReplicaSet> = {
    onAdd: (rs) => {
      const d = this.controllingDeployment(rs);
      if (d) this.o.queue.add(objectKey(d));
      else if (!controllerRefOf(rs)) this.enqueueMatching(rs);
    },
    onUpdate: (old, rs) => {
      if (old.metadata.resourceVersion === rs.metadata.resourceVersion) return;
      const previous = this.controllingDeployment(old);
      const current = this.controllingDeployment(rs);
      if (previous && previous.metadata.uid !== current?.metadata.uid) this.o.queue.add(objectKey(previous));
      if (current) return this.o.queue.add(objectKey(current));
      const labelsChanged =
        JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(rs.metadata.labels ?? {});
      if (!controllerRefOf(rs) && (labelsChanged || controllerRefOf(old))) this.enqueueMatching(rs);
    },
    onDelete: (rs) => {
      const d = this.controllingDeployment(rs);
      if (d) this.o.queue.add(objectKey(d));
    },
  };

  /** Recreate waits for old pods to be gone, so their deletion must wake the Deployment. */
  readonly podHandler: EventHandler<Pod> = {
    onDelete: (pod) => {
      const ref = controllerRefOf(pod);
      if (ref?.kind !== "ReplicaSet") return;
      const rs = this.o.replicaSets.get(
        objectKey({ metadata: { namespace: pod.metadata.namespace, name: ref.name } }),
      );
      if (!rs || rs.metadata.uid !== ref.uid) return;
      const d = this.controllingDeployment(rs);
      if (d?.spec?.strategy?.type === "Recreate") this.o.queue.add(objectKey(d));
    },
  };

  /** Reconciles the Deployment under `key`. Throws to be retried with backoff. */
  async sync(key: string): Promise<void> {
    const cached = this.o.deployments.get(key);
    if (!cached) return;
    const d = structuredClone(cached) as Deployment;
    const ctx: SyncContext = {
      client: this.o.client,
      recorder: this.o.recorder,
      clock: this.o.clock,
      queue: this.o.queue,
      key,
    };
    const selector = this.selectorOf(cached);
    if (!selector) {
      if ((d.status?.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) {
        d.status = { ...d.status, observedGeneration: d.metadata.generation ?? 0 };
        await writeStatus(ctx, d);
      }
      return;
    }
    const rsList = await this.claimReplicaSets(cached, selector);
    const sets = await replicaSetsAndSyncRevision(ctx, d, rsList);
    if (d.metadata.deletionTimestamp) return syncStatusOnly(ctx, d, sets);
    await checkPausedConditions(ctx, d);
    if (d.spec?.paused || isScalingEvent(d, sets)) return syncScaleOnly(ctx, d, sets);
    if (d.spec?.strategy?.type === "Recreate")
      return rolloutRecreate(ctx, d, sets, this.podsByReplicaSet(rsList));
    return rolloutRolling(ctx, d, sets);
  }

  /** The parsed selector, or undefined (with a Warning event) when it is empty or invalid. */
  private selectorOf(d: ReadonlyDeployment): Selector | undefined {
    let selector: Selector;
    try {
      selector = selectorFromLabelSelector(d.spec?.selector ?? {});
    } catch (err) {
      this.o.recorder.event(d, "Warning", "InvalidSelector", (err as Error).message);
      return undefined;
    }
    if (selector.requirements.length === 0) {
      this.o.recorder.event(
        d,
        "Warning",
        "SelectingAll",
        "This deployment is selecting all pods. A non-empty selector is required.",
      );
      return undefined;
    }
    return selector;
  }

  private async claimReplicaSets(d: ReadonlyDeployment, selector: Selector): Promise<ReadonlyReplicaSet[]> {
    const namespace = d.metadata.namespace;
    const candidates = this.o.replicaSets.list().filter((rs) => rs.metadata.namespace === namespace);
    return claimChildren(candidates, {
      owner: d,
      ownerInfo: deploymentsResource,
      selector,
      childInfo: replicaSetsResource,
      client: this.o.client,
    });
  }

  private podsByReplicaSet(rsList: readonly ReadonlyReplicaSet[]): PodsByReplicaSet {
    const map = new Map<string, DeepReadonly<Pod>[]>();
    for (const rs of rsList) {
      const uid = rs.metadata.uid ?? "";
      map.set(
        uid,
        this.o.pods.byIndex(byOwnerUidIndex, uid).filter((p) => controllerRefOf(p)?.uid === uid),
      );
    }
    return map;
  }

  private controllingDeployment(rs: DeepReadonly<ReplicaSet>): ReadonlyDeployment | undefined {
    const ref = controllerRefOf(rs);
    if (ref?.kind !== "Deployment") return undefined;
    const d = this.o.deployments.get(
      objectKey({ metadata: { namespace: rs.metadata.namespace, name: ref.name } }),
    );
    return d && d.metadata.uid === ref.uid ? d : undefined;
  }

  /** Wakes every Deployment that could adopt the orphan `rs`. */
  private enqueueMatching(rs: DeepReadonly<ReplicaSet>): void {
    for (const d of this.o.deployments.list()) {
      if (d.metadata.namespace !== rs.metadata.namespace) continue;
      let selector: Selector;
      try {
        selector = selectorFromLabelSelector(d.spec?.selector ?? {});
      } catch {
        continue;
      }
      if (selector.requirements.length > 0 && matchesSelector(selector, rs.metadata.labels)) {
        this.o.queue.add(objectKey(d));
      }
    }
  }
}
