/**
 * The garbage collector: deletes what owners no longer own, following `metadata.ownerReferences`
 * across every tracked resource (the "graph" is the byOwnerUid index of each cache). One
 * `sync(key)` looks at one object of any kind and does whichever applies:
 *
 * - it is being deleted with the `orphan` finalizer: strip the reference to it from every dependent,
 *   then remove the finalizer (`--cascade=orphan`);
 * - it is being deleted with `foregroundDeletion`: queue its dependents (which delete themselves
 *   below) and remove the finalizer once no dependent with `blockOwnerDeletion` is left
 *   (`--cascade=foreground`);
 * - it has owners: if none is left alive (gone, replaced by another uid, or itself waiting for its
 *   dependents), delete it, foreground when it has dependents and an owner waits, background
 *   otherwise; if some owners live, drop only the references to the others.
 *
 * "Gone" is decided on a live read, never on the cache alone, so an owner created a moment ago does
 * not lose its dependents. Every write carries a uid or resourceVersion precondition; a Conflict
 * means the cache was stale and the key is retried. Cached objects are never edited.
 */

import { isApiError } from "../../../foundation/api/errors.js";
import { foregroundFinalizer, orphanFinalizer } from "../../../foundation/api/finalizers.js";
import type { KubeObject } from "../../../foundation/api/object.js";
import type { ResourceInfo } from "../../../foundation/api/resources.js";
import { tracer } from "../../../foundation/util/trace.js";
import type { OwnerReference } from "../../../proto/gen/api.js";
import type {
  ControllerClient,
  ControllerDeleteOptions,
  MergePatch,
} from "../../client/controller-client.js";
import type { EventRecorder } from "../../client/events.js";
import {
  byOwnerUidIndex,
  type DeepReadonly,
  type EventHandler,
  type Lister,
  type WorkQueue,
} from "../../client/index.js";
import { gcKey, locateOwner, parseGcKey, resourceId } from "./object-ref.js";

const trace = tracer("garbage-collector");

type Obj = DeepReadonly<KubeObject>;
type Ref = DeepReadonly<OwnerReference>;

export interface TrackedResource {
  info: ResourceInfo;
  /** Its cache, with the `byOwnerUid` index (client/indexers.ts). */
  lister: Lister<KubeObject>;
}

export interface GarbageCollectorOptions {
  /** Every resource whose objects can own or be owned; the shared informers of all of them. */
  resources: readonly TrackedResource[];
  client: ControllerClient;
  recorder: EventRecorder;
  queue: Pick<WorkQueue, "add">;
}

/** What an owner reference points at, as far as the dependent's fate goes. */
type OwnerState = "alive" | "gone" | "waitingForDependents" | "unresolvable";

interface Dependent {
  info: ResourceInfo;
  obj: Obj;
}

export class GarbageCollector {
  private readonly byId = new Map<string, TrackedResource>();
  private readonly client: ControllerClient;
  private readonly recorder: EventRecorder;
  private readonly queue: Pick<WorkQueue, "add">;

  constructor(opts: GarbageCollectorOptions) {
    for (const r of opts.resources) this.byId.set(resourceId(r.info), r);
    this.client = opts.client;
    this.recorder = opts.recorder;
    this.queue = opts.queue;
  }

  /** The handler to register on `info`'s informer: it only enqueues keys. */
  handlerFor(info: ResourceInfo): EventHandler<KubeObject> {
    const enqueueSelf = (obj: Obj): void => {
      if (obj.metadata.ownerReferences?.length || obj.metadata.deletionTimestamp)
        this.queue.add(gcKey(info, obj));
    };
    return {
      onAdd: enqueueSelf,
      onUpdate: (old, obj) => {
        const resync = old.metadata.resourceVersion === obj.metadata.resourceVersion;
        const refsChanged = !sameJson(old.metadata.ownerReferences, obj.metadata.ownerReferences);
        if (
          resync ||
          refsChanged ||
          old.metadata.deletionTimestamp !== obj.metadata.deletionTimestamp ||
          !sameJson(old.metadata.finalizers, obj.metadata.finalizers)
        ) {
          enqueueSelf(obj);
        }
        // An owner waiting for its dependents must look again when one lets go of it.
        if (refsChanged) {
          this.enqueueOwners(old);
          this.enqueueOwners(obj);
        }
      },
      onDelete: (obj) => {
        for (const dep of this.dependentsOf(obj.metadata.uid)) this.queue.add(gcKey(dep.info, dep.obj));
        this.enqueueOwners(obj);
      },
    };
  }

  /** Reconciles the object under `key` (`<resource>:<namespace>/<name>`). Throws to be retried. */
  async sync(key: string): Promise<void> {
    const parsed = parseGcKey(key);
    const tracked = this.byId.get(parsed.resource);
    if (!tracked) {
      trace(`ignoring ${key}: resource ${parsed.resource} is not tracked`);
      return;
    }
    const obj = tracked.lister.get(parsed.objectKey);
    if (!obj) return;
    const meta = obj.metadata;
    if (meta.deletionTimestamp) {
      const finalizers = meta.finalizers ?? [];
      if (finalizers.includes(orphanFinalizer)) return this.orphanDependents(tracked.info, obj);
      if (finalizers.includes(foregroundFinalizer)) return this.deleteDependentsFirst(tracked.info, obj);
      return;
    }
    const refs = meta.ownerReferences ?? [];
    if (refs.length === 0) return;
    const states = await Promise.all(refs.map((ref) => this.ownerState(obj, ref)));
    const keeping = states.some((s) => s === "alive" || s === "unresolvable");
    if (keeping) {
      const drop = new Set(
        refs.filter((_, i) => states[i] === "gone" || states[i] === "waitingForDependents"),
      );
      if (drop.size === 0) return;
      trace(`${key}: dropping ${drop.size} reference(s) to owners that are gone or being deleted`);
      await this.writeRefs(tracked.info, obj, (ref) => !drop.has(ref));
      return;
    }
    // Every owner is gone or waits for its dependents: this object is garbage.
    const ownerWaits = states.includes("waitingForDependents");
    const policy = ownerWaits && this.dependentsOf(meta.uid).length > 0 ? "Foreground" : "Background";
    trace(`${key}: every owner is gone, deleting (${policy})`);
    await this.deleteObject(tracked.info, obj, { propagationPolicy: policy });
  }

  /** Foreground: dependents go first; the owner's finalizer goes once none blocks it. */
  private async deleteDependentsFirst(info: ResourceInfo, owner: Obj): Promise<void> {
    const uid = owner.metadata.uid;
    const dependents = this.dependentsOf(uid);
    for (const dep of dependents) this.queue.add(gcKey(dep.info, dep.obj));
    const blocking = dependents.filter((dep) => refTo(dep.obj, uid)?.blockOwnerDeletion === true);
    if (blocking.length > 0) {
      trace(`${gcKey(info, owner)}: waiting for ${blocking.length} blocking dependent(s)`);
      return;
    }
    await this.removeFinalizer(info, owner, foregroundFinalizer);
  }

  /** Orphan: every dependent forgets this owner, then the owner may go. */
  private async orphanDependents(info: ResourceInfo, owner: Obj): Promise<void> {
    const uid = owner.metadata.uid;
    const dependents = this.dependentsOf(uid);
    for (const dep of dependents) await this.writeRefs(dep.info, dep.obj, (ref) => ref.uid !== uid);
    if (dependents.length > 0) {
      this.recorder.event(
        owner,
        "Normal",
        "OrphanedDependents",
        `Orphaned ${dependents.length} dependent(s): their owner reference to ${owner.kind} ${owner.metadata.name} was removed`,
      );
    }
    await this.removeFinalizer(info, owner, orphanFinalizer);
  }

  private async ownerState(dependent: Obj, ref: Ref): Promise<OwnerState> {
    const where = locateOwner(ref, dependent.metadata.namespace ?? "");
    if (where.kind === "invalidNamespace") {
      this.recorder.event(dependent, "Warning", "OwnerRefInvalidNamespace", where.why);
      return "unresolvable";
    }
    if (where.kind === "unresolvable") {
      trace(
        `${dependent.metadata.namespace}/${dependent.metadata.name}: owner ${ref.kind}/${ref.name}: ${where.why}`,
      );
      return "unresolvable";
    }
    const tracked = this.byId.get(resourceId(where.info));
    const cacheKey = where.namespace ? `${where.namespace}/${where.name}` : where.name;
    let owner: DeepReadonly<KubeObject> | KubeObject | undefined = tracked?.lister.get(cacheKey);
    if (owner?.metadata.uid !== where.uid) {
      // The cache may lag behind an owner created a moment ago: only the server can say it is gone.
      owner = await this.liveGet(where.info, where.namespace, where.name);
      if (owner?.metadata.uid !== where.uid) return "gone";
    }
    const meta = owner.metadata;
    if (meta.deletionTimestamp && (meta.finalizers ?? []).includes(foregroundFinalizer))
      return "waitingForDependents";
    return "alive";
  }

  private async liveGet(
    info: ResourceInfo,
    namespace: string,
    name: string,
  ): Promise<KubeObject | undefined> {
    try {
      return await this.client.get<KubeObject>(info, namespace, name);
    } catch (err) {
      if (isApiError(err, "NotFound")) return undefined;
      throw err;
    }
  }

  /** Every cached object, of any kind, with an owner reference to `uid`. */
  private dependentsOf(uid: string | undefined): Dependent[] {
    if (!uid) return [];
    const out: Dependent[] = [];
    for (const { info, lister } of this.byId.values()) {
      for (const obj of lister.byIndex(byOwnerUidIndex, uid)) out.push({ info, obj });
    }
    return out;
  }

  private enqueueOwners(obj: Obj): void {
    for (const ref of obj.metadata.ownerReferences ?? []) {
      const where = locateOwner(ref, obj.metadata.namespace ?? "");
      if (where.kind === "found") this.queue.add(gcKey(where.info, { metadata: where }));
    }
  }

  /** Rewrites the object's owner references to those `keep` accepts; guarded by its resourceVersion. */
  private async writeRefs(info: ResourceInfo, obj: Obj, keep: (ref: Ref) => boolean): Promise<void> {
    const refs = (obj.metadata.ownerReferences ?? [])
      .filter(keep)
      .map((ref) => structuredClone(ref) as OwnerReference);
    await this.patchMeta(info, obj, { ownerReferences: refs.length > 0 ? refs : null });
  }

  private async removeFinalizer(info: ResourceInfo, obj: Obj, finalizer: string): Promise<void> {
    const rest = (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    await this.patchMeta(info, obj, { finalizers: rest.length > 0 ? rest : null });
  }

  private async patchMeta(info: ResourceInfo, obj: Obj, metadata: Record<string, unknown>): Promise<void> {
    const patch: MergePatch = { metadata: { ...metadata, resourceVersion: obj.metadata.resourceVersion } };
    try {
      await this.client.patch(info, obj.metadata.namespace ?? "", obj.metadata.name ?? "", patch);
    } catch (err) {
      // Gone already: nothing left to change. A Conflict is thrown on: the cache was stale, retry.
      if (!isApiError(err, "NotFound")) throw err;
    }
  }

  private async deleteObject(info: ResourceInfo, obj: Obj, opts: ControllerDeleteOptions): Promise<void> {
    try {
      await this.client.delete(info, obj.metadata.namespace ?? "", obj.metadata.name ?? "", {
        ...opts,
        ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}),
      });
    } catch (err) {
      // NotFound: already gone. Conflict on the uid: a new object took the name; its own events bring it here.
      if (isApiError(err, "NotFound") || isApiError(err, "Conflict")) return;
      throw err;
    }
  }
}

function refTo(obj: Obj, uid: string | undefined): Ref | undefined {
  return obj.metadata.ownerReferences?.find((ref) => ref.uid === uid);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}
