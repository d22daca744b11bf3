/**
 * The generic REST semantics of every API resource, shared by the HTTP apiserver and in-process
 * callers (controllers, scheduler, node service). Each write decodes strictly, fills server-owned
 * metadata, defaults, validates and only then stores; `dryRun` runs every step but the write.
 *
 * Contracts every method keeps:
 * - Errors are `ApiError`s (NotFound, AlreadyExists, Conflict, Invalid with field paths, BadRequest,
 *   Forbidden, Gone, RequestEntityTooLarge); nothing is written when one is thrown.
 * - Returned objects are fresh copies with `metadata.resourceVersion` set (unset for dry-run creates).
 * - Spec and status are written separately: `update`/`patch` keep the stored status of kinds with a
 *   status subresource, `updateStatus`/`patchStatus` change nothing but status.
 * - `metadata.generation` starts at 1 and grows only when something outside metadata and status changes.
 */
import { randomUUID } from "node:crypto";
import { decodeMessage, decodeObject } from "../../foundation/api/codec.js";
import {
  ApiError,
  conflict,
  type FieldCause,
  invalid,
  isApiError,
  notFound,
} from "../../foundation/api/errors.js";
import { parseSelector } from "../../foundation/api/labels.js";
import { definedFields, type KubeObject } from "../../foundation/api/object.js";
import { apiVersionOf, type ResourceInfo, resourceForPlural } from "../../foundation/api/resources.js";
import type { WatchEvent } from "../../foundation/api/watch.js";
import { applyDefaults, initialStatus, validateObject } from "../../foundation/kinds/index.js";
import { type Clock, realClock } from "../../foundation/util/clock.js";
import { rfc3339 } from "../../foundation/util/time.js";
import type { Binding, Scale } from "../../proto/gen/api.js";
import { parseFieldSelector } from "../store/field-selector.js";
import {
  checkObjectSize,
  checkPreconditions,
  type Preconditions,
  type Selection,
  type Store,
  type WatchHandle,
} from "../store/store.js";
import { applyJsonPatch } from "./json-patch.js";
import {
  type DeleteRequest,
  generatedName,
  type PropagationPolicy,
  planDeletion,
  readyToRemove,
  specChanged,
} from "./lifecycle.js";
import { recordUpdate } from "./managed-fields.js";
import { applyMergePatch, applyStrategicMergePatch } from "./merge-patch.js";
import { toScale, withReplicas } from "./scale.js";
import { serverSideApply } from "./server-side-apply.js";
import { type ServiceAllocationOptions, ServiceAllocator } from "./service-allocation.js";

const namespaces = resourceForPlural("", "namespaces")!;
const pods = resourceForPlural("", "pods")!;

/** Namespaces that always exist; `ensureSystemNamespaces` creates them. */
export const systemNamespaces = ["default", "kube-system"] as const;

/** Namespaces whose open version is remembered before the memory is dropped and rebuilt. */
const maxRememberedNamespaces = 10_000;

/** Attempts at a generated name before giving up with AlreadyExists. */
const generateNameAttempts = 8;

export interface RegistryOptions {
  store: Store;
  clock?: Clock;
  /** Source of randomness for generateName suffixes; Math.random when omitted. */
  random?: () => number;
  /** Source of metadata.uid; crypto.randomUUID when omitted. */
  newUid?: () => string;
  /** Events are removed this long after they are created, as in Kubernetes; 3600 when omitted, 0 keeps them. */
  eventTtlSeconds?: number;
  /** Service CIDR, NodePort range and reserved ClusterIPs; Kubernetes' defaults when omitted. */
  serviceAllocation?: ServiceAllocationOptions;
}

/**
 * A mutating admission step for creates (upstream's admission plugins that change objects, such as
 * ServiceAccount): it runs after defaulting and before validation, and what it throws (an ApiError,
 * e.g. Forbidden) refuses the create.
 */
export interface AdmissionPlugin {
  name: string;
  admitCreate(info: ResourceInfo, obj: KubeObject): Promise<void>;
}

export interface WriteOptions {
  /** Run every check and return the would-be result, but write nothing (`?dryRun=All`). */
  dryRun?: boolean;
  /**
   * Who writes (the `fieldManager` of the request, or its client's name): the fields a create,
   * update or patch sets are recorded as this manager's in `metadata.managedFields`. Writes without
   * one (the control plane's own) and status writes record nothing.
   */
  manager?: string;
}

/** For in-process callers that hold the object in an informer cache. */
export interface CachedWriteOptions extends WriteOptions {
  /**
   * The caller's copy of the stored object. When it is current the write takes one etcd round trip
   * instead of two; when stale it costs nothing extra (see `Store.guaranteedUpdate`).
   */
  cached?: KubeObject;
  /** Checked against the stored object before each write attempt; what it throws aborts the write. */
  precondition?: (current: KubeObject) => void;
}

export interface CreateOptions extends WriteOptions {
  /** The namespace of the request path; the object's own must be absent or equal. */
  namespace?: string;
}

export type PatchType = "merge" | "strategic" | "json";

export interface PatchOptions extends CachedWriteOptions {
  /** "merge" (RFC 7386, the default), "strategic" (kubectl's strategic merge patch) or "json" (RFC 6902). */
  type?: PatchType;
}

export interface ApplyOptions extends WriteOptions {
  /** The `fieldManager` of the request. */
  manager: string;
  /** Take ownership of fields other managers own instead of failing with a conflict. */
  force: boolean;
}

export interface ListOptions {
  /** Empty or omitted: all namespaces. */
  namespace?: string;
  /** String form, e.g. `app=web,tier!=db`. */
  labelSelector?: string;
  /** String form, e.g. `spec.nodeName=node-1` or `spec.nodeName=` for unbound pods. */
  fieldSelector?: string;
  /** A page of at most this many (0 or omitted: no limit). */
  limit?: number;
  /** The `metadata.continue` of the previous page. */
  continue?: string;
}

export interface ObjectList {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: KubeObject[];
}

export interface WatchOptions extends ListOptions {
  /** Changes after this revision; empty or "0" starts with ADDED events for the current objects. */
  resourceVersion?: string;
  /** Period of BOOKMARK events; 0 or omitted sends none. */
  bookmarkIntervalMs?: number;
}

export interface DeleteOptions extends WriteOptions {
  propagationPolicy?: PropagationPolicy;
  /** Pods only: seconds the node agent gives the containers; 0 deletes at once. */
  gracePeriodSeconds?: number;
  preconditions?: Preconditions;
}

export interface DeleteResult {
  /** The last state (when removed) or the current state carrying deletionTimestamp (when not). */
  object: KubeObject;
  /** True when the object is gone from the store; false while finalizers or a grace period hold it. */
  removed: boolean;
}

type WriteMode = "main" | "status";

export type { WatchHandle };

export class Registry {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly newUid: () => string;
  private readonly eventTtlSeconds: number;
  /** ClusterIPs and NodePorts of Services; its `repair()` is for the control plane to run periodically. */
  readonly serviceAllocator: ServiceAllocator;
  /** Namespace name → resourceVersion at which it was last read open; see `openNamespaceVersion`. */
  private readonly namespaceVersions = new Map<string, string>();

  private readonly admission: AdmissionPlugin[] = [];

  /** Adds a mutating admission step to every create from now on. */
  addAdmission(plugin: AdmissionPlugin): void {
    this.admission.push(plugin);
  }

  constructor(opts: RegistryOptions) {
    this.store = opts.store;
    this.clock = opts.clock ?? realClock;
    this.random = opts.random ?? Math.random;
    this.newUid = opts.newUid ?? randomUUID;
    this.eventTtlSeconds = opts.eventTtlSeconds ?? 3600;
    this.serviceAllocator = new ServiceAllocator(this.store, {
      clock: this.clock,
      ...opts.serviceAllocation,
    });
  }

  /** Creates the namespaces every cluster has (default, kube-system) unless they exist. Idempotent. */
  async ensureSystemNamespaces(): Promise<void> {
    for (const name of systemNamespaces) {
      try {
        await this.create(namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
      } catch (err) {
        if (!isApiError(err, "AlreadyExists")) throw err;
      }
    }
  }

  /**
   * Creates an object from `raw` (parsed JSON/YAML). The namespace comes from `opts.namespace` or the
   * object; it must exist and not be terminating. A missing name is made from generateName.
   */
  async create(info: ResourceInfo, raw: unknown, opts: CreateOptions = {}): Promise<KubeObject> {
    const obj = decodeObject(raw, info);
    const meta = obj.metadata;
    let namespaceVersion: string | undefined;
    if (info.namespaced) {
      meta.namespace = requestNamespace(info, meta.namespace, opts.namespace);
      namespaceVersion = await this.openNamespaceVersion(meta.namespace);
    } else {
      delete meta.namespace;
    }
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    meta.uid = this.newUid();
    meta.creationTimestamp = rfc3339(this.clock.now());
    meta.generation = 1;
    const status = initialStatus(info, obj);
    if (status === undefined) delete obj.status;
    else obj.status = status;
    applyDefaults(info, obj);
    // The user's fields are recorded before admission adds its own (a pod's token volume), so a
    // later apply of the same manifest does not try to take them out again.
    if (opts.manager) this.recordUpdate(info, undefined, obj, opts.manager);
    for (const plugin of this.admission) await plugin.admitCreate(info, obj);

    const generate = !meta.name && meta.generateName;
    for (let attempt = 1; ; attempt++) {
      if (generate) meta.name = generatedName(meta.generateName!, this.random);
      this.validate(info, obj);
      try {
        return await this.serviceAllocator.create(info, obj, opts.dryRun ?? false, async () => {
          if (opts.dryRun) {
            checkObjectSize(info, obj);
            await this.checkAbsent(info, meta.namespace, meta.name!);
            return obj;
          }
          const ttlSeconds = info.kind === "Event" ? this.eventTtlSeconds : 0;
          return await this.store.create(info, obj, {
            ...(ttlSeconds > 0 ? { ttlSeconds } : {}),
            ...(namespaceVersion
              ? {
                  unchanged: { info: namespaces, name: meta.namespace!, resourceVersion: namespaceVersion },
                }
              : {}),
          });
        });
      } catch (err) {
        if (
          isApiError(err, "Conflict") &&
          err.details?.kind === "Namespace" &&
          attempt < generateNameAttempts
        ) {
          // The namespace changed since we last saw it open: look again (it may be terminating now).
          this.namespaceVersions.delete(meta.namespace!);
          namespaceVersion = await this.openNamespaceVersion(meta.namespace!);
          continue;
        }
        if (!generate || !isApiError(err, "AlreadyExists") || attempt >= generateNameAttempts) throw err;
      }
    }
  }

  /** Reads one object. Throws NotFound. */
  get(info: ResourceInfo, namespace: string | undefined, name: string): Promise<KubeObject> {
    return this.store.get(info, namespace, name);
  }

  /** Lists objects (one namespace or all) at one revision. Throws BadRequest for a bad selector. */
  async list(info: ResourceInfo, opts: ListOptions = {}): Promise<ObjectList> {
    const paged = opts.limit || opts.continue !== undefined;
    const list = await this.store.list(
      info,
      selection(info, opts),
      paged
        ? { limit: opts.limit ?? 0, ...(opts.continue !== undefined ? { continue: opts.continue } : {}) }
        : undefined,
    );
    return {
      apiVersion: apiVersionOf(info),
      kind: `${info.kind}List`,
      metadata: {
        resourceVersion: list.resourceVersion,
        ...(list.continue ? { continue: list.continue } : {}),
        ...(list.remainingItemCount !== undefined ? { remainingItemCount: list.remainingItemCount } : {}),
      },
      items: list.items,
    };
  }

  /**
   * Streams changes (see `Store.watch`): events go to `onEvent`, the end of the stream once to
   * `onError` (Gone when the revision was compacted: relist). Rejects with Gone or BadRequest before
   * any event when the request cannot be served.
   */
  watch(
    info: ResourceInfo,
    opts: WatchOptions,
    onEvent: (event: WatchEvent<KubeObject>) => void,
    onError: (err: ApiError) => void,
  ): Promise<WatchHandle> {
    return this.store.watch(
      info,
      {
        ...selection(info, opts),
        ...(opts.resourceVersion !== undefined ? { resourceVersion: opts.resourceVersion } : {}),
        ...(opts.bookmarkIntervalMs !== undefined ? { bookmarkIntervalMs: opts.bookmarkIntervalMs } : {}),
      },
      onEvent,
      onError,
    );
  }

  /**
   * Replaces an object (PUT). `metadata.resourceVersion`, when given, must equal the stored one
   * (409 otherwise); without it the write is unconditional. Server-owned metadata and, for kinds
   * with a status subresource, status are kept from the stored object.
   */
  update(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    raw: unknown,
    opts: CachedWriteOptions = {},
  ): Promise<KubeObject> {
    return this.write(info, namespace, name, "main", () => raw, opts);
  }

  /**
   * Server-side apply (see server-side-apply.ts): merges the applied configuration `raw` into the
   * object, or creates it when it does not exist. Throws Conflict (409) naming the fields another
   * manager owns with a different value, unless `opts.force`.
   */
  async apply(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    raw: unknown,
    opts: ApplyOptions,
  ): Promise<KubeObject> {
    const config = applyConfiguration(info, name, raw, opts.manager);
    const message = info.message.slice(info.message.lastIndexOf(".") + 1);
    const req = { ...opts, now: rfc3339(this.clock.now()), apiVersion: apiVersionOf(info) };
    // The apply records its own entry; the write under it must not add an Update one.
    const dry = { dryRun: opts.dryRun ?? false };
    try {
      return await this.write(
        info,
        namespace,
        name,
        "main",
        (old) => serverSideApply(message, old, config, req),
        dry,
      );
    } catch (err) {
      if (!isApiError(err, "NotFound") || (err.details?.name ?? name) !== name) throw err;
    }
    const created = serverSideApply(message, undefined, config, req);
    return this.create(info, created, { ...(namespace ? { namespace } : {}), ...dry });
  }

  /** Records `manager`'s changes from `old` to `next` in next's managedFields (see managed-fields.ts). */
  private recordUpdate(
    info: ResourceInfo,
    old: KubeObject | undefined,
    next: KubeObject,
    manager: string,
  ): void {
    const message = info.message.slice(info.message.lastIndexOf(".") + 1);
    const entries = recordUpdate(
      message,
      old,
      next,
      { manager, time: rfc3339(this.clock.now()), apiVersion: apiVersionOf(info) },
      next.metadata.managedFields ?? [],
    );
    if (entries.length > 0) next.metadata.managedFields = entries;
    else delete next.metadata.managedFields;
  }

  /** Patches an object; same rules as `update` applied to the patched stored object. */
  patch(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    opts: PatchOptions = {},
  ): Promise<KubeObject> {
    return this.write(info, namespace, name, "main", (old) => patchObject(old, patch, opts.type), opts);
  }

  /** Replaces only the status of an object (PUT /status); everything else in `raw` is ignored. */
  updateStatus(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    raw: unknown,
    opts: CachedWriteOptions = {},
  ): Promise<KubeObject> {
    requireSubresource(info, "status");
    return this.write(info, namespace, name, "status", () => raw, opts);
  }

  /** Patches only the status of an object (PATCH /status). */
  patchStatus(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    opts: PatchOptions = {},
  ): Promise<KubeObject> {
    requireSubresource(info, "status");
    return this.write(info, namespace, name, "status", (old) => patchObject(old, patch, opts.type), opts);
  }

  /**
   * Deletes an object. Removed at once unless it has finalizers (kept with deletionTimestamp until
   * an update removes the last one) or is a Pod bound to a node (kept with deletionTimestamp and
   * deletionGracePeriodSeconds until its agent deletes it with gracePeriodSeconds=0). The policy
   * Orphan/Foreground is recorded as the finalizer `orphan`/`foregroundDeletion` for the garbage
   * collector. A Namespace turns Terminating and keeps the finalizer `kubernetes` until the namespace
   * controller removes it.
   */
  async delete(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): Promise<DeleteResult> {
    const req: DeleteRequest = {};
    if (opts.propagationPolicy) req.propagationPolicy = opts.propagationPolicy;
    if (opts.gracePeriodSeconds !== undefined) req.gracePeriodSeconds = opts.gracePeriodSeconds;
    for (;;) {
      const current = await this.store.get(info, namespace, name);
      checkPreconditions(info, current, opts.preconditions ?? {});
      const plan = planDeletion(info, current, req, this.clock.now());
      if (plan.kind === "remove") {
        if (opts.dryRun) return { object: current, removed: true };
        try {
          const last = await this.store.delete(info, namespace, name, {
            resourceVersion: current.metadata.resourceVersion!,
          });
          await this.serviceAllocator.afterRemove(info, last);
          return { object: last, removed: true };
        } catch (err) {
          if (!isApiError(err, "Conflict")) throw err;
          continue;
        }
      }
      const marked: KubeObject = { ...current, metadata: plan.metadata };
      if (plan.status !== undefined) marked.status = plan.status;
      // A repeated delete of an object already marked this way writes nothing.
      if (opts.dryRun || JSON.stringify(marked) === JSON.stringify(current))
        return { object: marked, removed: false };
      try {
        return { object: await this.store.update(info, marked), removed: false };
      } catch (err) {
        if (!isApiError(err, "Conflict")) throw err;
      }
    }
  }

  /**
   * Assigns a pod to a node (POST pods/{name}/binding), once: Conflict when the pod is already
   * assigned or being deleted. Sets spec.nodeName and the PodScheduled condition.
   */
  async bind(
    namespace: string,
    podName: string,
    raw: unknown,
    opts: CachedWriteOptions = {},
  ): Promise<KubeObject> {
    const binding = decodeMessage<Binding>("Binding", raw);
    const node = binding.target?.name;
    if (!node) {
      throw invalid("Binding", podName, [
        {
          field: "target.name",
          reason: "FieldValueRequired",
          message: "Required value: the node to bind to",
        },
      ]);
    }
    if (binding.metadata?.name && binding.metadata.name !== podName) {
      throw new ApiError(
        "BadRequest",
        `the binding's metadata.name (${binding.metadata.name}) does not match the pod on the URL (${podName})`,
      );
    }
    const assign = (old: KubeObject): KubeObject => {
      const pod = old as { spec?: { nodeName?: string }; status?: { conditions?: { type?: string }[] } };
      if (old.metadata.deletionTimestamp) {
        throw conflict("Pod", podName, "the pod is being deleted and cannot be assigned to a node");
      }
      if (pod.spec?.nodeName) {
        throw conflict("Pod", podName, `pod ${podName} is already assigned to node "${pod.spec.nodeName}"`);
      }
      const conditions: unknown[] = (pod.status?.conditions ?? []).filter((c) => c.type !== "PodScheduled");
      conditions.push({
        type: "PodScheduled",
        status: "True",
        lastTransitionTime: rfc3339(this.clock.now()),
      });
      return { ...old, spec: { ...pod.spec, nodeName: node }, status: { ...pod.status, conditions } };
    };
    const checked = (old: KubeObject): KubeObject => {
      opts.precondition?.(old);
      return assign(old);
    };
    if (opts.dryRun) return checked(await this.store.get(pods, namespace, podName));
    return this.store.guaranteedUpdate(pods, namespace, podName, checked, cachedOnly(opts));
  }

  /** The Scale view of a Deployment or ReplicaSet (GET /scale). */
  async getScale(info: ResourceInfo, namespace: string, name: string): Promise<Scale> {
    requireSubresource(info, "scale");
    return toScale(await this.store.get(info, namespace, name));
  }

  /** Sets spec.replicas from a Scale (PUT /scale); its metadata.resourceVersion, if given, is a precondition. */
  async updateScale(
    info: ResourceInfo,
    namespace: string,
    name: string,
    raw: unknown,
    opts: WriteOptions = {},
  ): Promise<Scale> {
    requireSubresource(info, "scale");
    return this.writeScale(info, namespace, name, () => raw, opts);
  }

  /** Patches the Scale view (PATCH /scale, what `kubectl scale` sends). */
  async patchScale(
    info: ResourceInfo,
    namespace: string,
    name: string,
    patch: unknown,
    opts: PatchOptions = {},
  ): Promise<Scale> {
    requireSubresource(info, "scale");
    return this.writeScale(info, namespace, name, (old) => patchObject(toScale(old), patch, opts.type), opts);
  }

  private async writeScale(
    info: ResourceInfo,
    namespace: string,
    name: string,
    produce: (old: KubeObject) => unknown,
    opts: WriteOptions,
  ): Promise<Scale> {
    const updated = await this.write(
      info,
      namespace,
      name,
      "main",
      (old) => {
        const scale = decodeMessage<Scale>("Scale", produce(old));
        const replicas = scale.spec?.replicas;
        if (replicas === undefined) {
          throw invalid("Scale", name, [
            { field: "spec.replicas", reason: "FieldValueRequired", message: "Required value" },
          ]);
        }
        const rv = scale.metadata?.resourceVersion;
        return withReplicas(
          rv ? { ...old, metadata: { ...old.metadata, resourceVersion: rv } } : old,
          replicas,
        );
      },
      opts,
    );
    return toScale(updated);
  }

  /**
   * The one read-modify-write path of every update: `produce` turns the stored object into the
   * requested one (whose resourceVersion, when set, is a precondition). Removes the object when the
   * write left it deleted with nothing to wait for.
   */
  private async write(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    mode: WriteMode,
    produce: (old: KubeObject) => unknown,
    opts: CachedWriteOptions,
  ): Promise<KubeObject> {
    const allocation = this.serviceAllocator.updateSession(info, mode === "status", opts.dryRun ?? false);
    const transform = (old: KubeObject): Promise<KubeObject> => {
      opts.precondition?.(old);
      const next = this.nextState(info, namespace, name, mode, old, produce(old));
      if (mode === "main" && opts.manager) this.recordUpdate(info, old, next, opts.manager);
      return allocation.apply(old, next);
    };
    if (opts.dryRun) {
      const next = await transform(await this.store.get(info, namespace, name));
      checkObjectSize(info, next);
      return next;
    }
    const written = await allocation.finish(
      this.store.guaranteedUpdate(info, namespace, name, transform, cachedOnly(opts)),
    );
    if (readyToRemove(written)) {
      try {
        const removed = await this.store.delete(info, namespace, name, {
          resourceVersion: written.metadata.resourceVersion!,
        });
        await this.serviceAllocator.afterRemove(info, removed);
        return removed;
      } catch (err) {
        // Someone wrote after us; the object is theirs to finish (their write sees the same rule).
        if (!isApiError(err, "Conflict") && !isApiError(err, "NotFound")) throw err;
      }
    }
    return written;
  }

  private nextState(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    mode: WriteMode,
    old: KubeObject,
    raw: unknown,
  ): KubeObject {
    const incoming = decodeObject(mode === "status" ? statusPart(raw) : raw, info);
    const meta = incoming.metadata;
    if (meta.name !== undefined && meta.name !== name) {
      throw new ApiError(
        "BadRequest",
        `the name of the object (${meta.name}) does not match the name on the URL (${name})`,
      );
    }
    if (info.namespaced) requestNamespace(info, meta.namespace, namespace);
    if (meta.resourceVersion && meta.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(
        info.kind,
        name,
        "the object has been modified; please apply your changes to the latest version and try again",
        info.group,
      );
    }
    let next: KubeObject;
    if (mode === "status") {
      next = { ...old };
      if (incoming.status === undefined) delete next.status;
      else next.status = incoming.status;
    } else {
      const oldMeta = old.metadata;
      next = {
        ...incoming,
        metadata: {
          ...meta,
          name,
          ...definedFields({ uid: meta.uid || oldMeta.uid, creationTimestamp: oldMeta.creationTimestamp }),
          generation: oldMeta.generation ?? 1,
        },
      };
      // As upstream: a write that leaves managedFields out keeps them; an empty list clears them.
      if (meta.managedFields === undefined && oldMeta.managedFields) {
        next.metadata.managedFields = oldMeta.managedFields;
      }
      if (info.namespaced && oldMeta.namespace !== undefined) next.metadata.namespace = oldMeta.namespace;
      else delete next.metadata.namespace;
      for (const f of ["deletionTimestamp", "deletionGracePeriodSeconds"] as const) {
        if (oldMeta[f] === undefined) delete next.metadata[f];
        else (next.metadata as Record<string, unknown>)[f] = oldMeta[f];
      }
      if (info.hasStatus) {
        if (old.status === undefined) delete next.status;
        else next.status = old.status;
      }
      applyDefaults(info, next);
      if (specChanged(old, next)) next.metadata.generation = (oldMeta.generation ?? 1) + 1;
    }
    next.metadata.resourceVersion = old.metadata.resourceVersion!;
    // A status write keeps the stored spec and metadata, which were validated when written; status
    // has no rules beyond its types, which decoding checked.
    if (mode === "main") this.validate(info, next, old);
    return next;
  }

  /**
   * Field checks. The size limit is the store's, checked on the bytes it writes (and by `dryRun`
   * callers on the would-be result); an invalid object is checked for size here too, so an oversized
   * one is refused for its size, not its fields, without serializing every valid write twice.
   */
  private validate(info: ResourceInfo, obj: KubeObject, old?: KubeObject): void {
    const causes: FieldCause[] = validateObject(info, obj, old);
    if (old?.metadata.deletionTimestamp) {
      const added = (obj.metadata.finalizers ?? []).filter(
        (f) => !(old.metadata.finalizers ?? []).includes(f),
      );
      if (added.length > 0) {
        causes.push({
          field: "metadata.finalizers",
          reason: "FieldValueForbidden",
          message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
        });
      }
    }
    if (causes.length > 0) {
      checkObjectSize(info, obj);
      throw invalid(info.kind, obj.metadata.name ?? "", causes, info.group);
    }
  }

  /**
   * The resourceVersion of `namespace` as last seen open (existing, not terminating), read from etcd
   * when not remembered. Creates store it as a guard in their own transaction, so a namespace that
   * changed since (e.g. began terminating) makes the create fail and look again: one etcd round trip
   * per create instead of a read and a write, and never a create in a namespace being deleted.
   */
  private async openNamespaceVersion(namespace: string): Promise<string> {
    const known = this.namespaceVersions.get(namespace);
    if (known) return known;
    let ns: KubeObject;
    try {
      ns = await this.store.get(namespaces, undefined, namespace);
    } catch (err) {
      if (isApiError(err, "NotFound")) throw notFound("Namespace", namespace);
      throw err;
    }
    if (
      ns.metadata.deletionTimestamp ||
      (ns.status as { phase?: string } | undefined)?.phase === "Terminating"
    ) {
      throw new ApiError(
        "Forbidden",
        `unable to create new content in namespace ${namespace} because it is being terminated`,
        { name: namespace, kind: "Namespace" },
      );
    }
    if (this.namespaceVersions.size >= maxRememberedNamespaces) this.namespaceVersions.clear();
    this.namespaceVersions.set(namespace, ns.metadata.resourceVersion!);
    return ns.metadata.resourceVersion!;
  }

  private async checkAbsent(info: ResourceInfo, namespace: string | undefined, name: string): Promise<void> {
    try {
      await this.store.get(info, namespace, name);
    } catch (err) {
      if (isApiError(err, "NotFound")) return;
      throw err;
    }
    throw new ApiError(
      "AlreadyExists",
      `${info.group ? `${info.kind}.${info.group}` : info.kind} "${name}" already exists`,
      {
        name,
        kind: info.kind,
        group: info.group,
      },
    );
  }
}

/** The namespace of a write: the request's and the object's must agree; one of them must be set. */
function requestNamespace(
  info: ResourceInfo,
  fromObject: string | undefined,
  fromRequest: string | undefined,
): string {
  if (fromObject && fromRequest && fromObject !== fromRequest) {
    throw new ApiError(
      "BadRequest",
      `the namespace of the provided object (${fromObject}) does not match the namespace sent on the request (${fromRequest})`,
    );
  }
  const ns = fromRequest || fromObject;
  if (!ns) throw new ApiError("BadRequest", `${info.kind}: metadata.namespace is required`);
  return ns;
}

function selection(info: ResourceInfo, opts: ListOptions): Selection {
  const sel: Selection = {};
  if (opts.namespace) sel.namespace = opts.namespace;
  if (opts.labelSelector) sel.labelSelector = parseSelector(opts.labelSelector);
  if (opts.fieldSelector) sel.fieldSelector = parseFieldSelector(opts.fieldSelector, info);
  return sel;
}

/**
 * The parts of a /status write's body that are used (identity, resourceVersion and status): the
 * rest is ignored rather than decoded, as the stored object's is kept.
 */
function statusPart(raw: unknown): unknown {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return raw;
  const body = raw as Record<string, unknown>;
  const part: Record<string, unknown> = {};
  for (const key of ["apiVersion", "kind", "metadata", "status"]) {
    if (body[key] !== undefined) part[key] = body[key];
  }
  return part;
}

function cachedOnly(opts: CachedWriteOptions): { cached?: KubeObject } {
  return opts.cached ? { cached: opts.cached } : {};
}

function patchObject(old: unknown, patch: unknown, type: PatchType = "merge"): unknown {
  if (type === "json") return applyJsonPatch(old, patch);
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) {
    throw new ApiError("BadRequest", "a merge patch must be a JSON object");
  }
  return type === "strategic" ? applyStrategicMergePatch(old, patch) : applyMergePatch(old, patch);
}

/** Checks what server-side apply was sent: an object of this resource's kind, named as the URL. */
function applyConfiguration(
  info: ResourceInfo,
  name: string,
  raw: unknown,
  manager: string,
): Record<string, unknown> {
  if (!manager) {
    throw new ApiError("BadRequest", "fieldManager: Required value: is required for apply patch");
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ApiError("BadRequest", "an apply patch must be an object (the applied configuration)");
  }
  const config = raw as Record<string, unknown>;
  if (config.apiVersion !== apiVersionOf(info) || config.kind !== info.kind) {
    throw new ApiError(
      "BadRequest",
      `the apply patch is a ${String(config.kind)} of ${JSON.stringify(config.apiVersion)}, but the URL names a ${info.kind} of "${apiVersionOf(info)}"`,
    );
  }
  const meta = config.metadata as Record<string, unknown> | undefined;
  if (meta?.name !== undefined && meta.name !== name) {
    throw new ApiError(
      "BadRequest",
      `the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`,
    );
  }
  return { ...config, metadata: { ...(meta ?? {}), name } };
}

function requireSubresource(info: ResourceInfo, sub: "status" | "scale"): void {
  if (!info.subresources.includes(sub)) {
    throw new ApiError("NotFound", `${info.plural} have no ${sub} subresource`);
  }
}
