/**
 * Test fixtures for controller unit tests (never for integration tests): an in-memory object
 * store behind a recording `ControllerClient`, informer-like caches fed from it, a recording
 * `EventRecorder` and work queue. Writes land in the store at once; caches see them only on
 * `flush()` (or at once with `autoFlush`), which fires the registered handlers like an informer
 * catching up. That gap is what lets tests show expectations at work.
 *
 * The store keeps just enough API semantics for controllers: generated names and uids,
 * resourceVersion and uid preconditions (Conflict), NotFound/AlreadyExists, generation bumps on
 * spec changes, status written only through updateStatus, merge patches.
 */
import { ApiError } from "../../../foundation/api/errors.js";
import { definedFields, objectKey } from "../../../foundation/api/object.js";
import type { ResourceInfo } from "../../../foundation/api/resources.js";
import { FakeClock } from "../../../foundation/util/clock.js";
import { rfc3339 } from "../../../foundation/util/time.js";
import type {
  ApiObject,
  ControllerClient,
  ControllerDeleteOptions,
  MergePatch,
} from "../../client/controller-client.js";
import type { EventRecorder, EventSubject, EventType } from "../../client/events.js";
import {
  byOwnerUid,
  byOwnerUidIndex,
  deepFreeze,
  type EventHandler,
  type Lister,
} from "../../client/index.js";
import { ObjectCache } from "../../client/object-cache.js";

export type Verb = "get" | "create" | "update" | "updateStatus" | "patch" | "delete";

export interface Action {
  verb: Verb;
  /** Plural resource name, e.g. "pods". */
  resource: string;
  namespace: string;
  /** For creates with generateName: the generated name. */
  name: string;
  /** The object as sent (create, update, updateStatus) or the patch. */
  body?: unknown;
}

interface PendingEvent {
  resource: string;
  type: "put" | "remove";
  obj: ApiObject;
}

const alphabet = "bcdfghjklmnpqrstvwxz2456789";

function specOf(obj: ApiObject): string {
  const {
    metadata: _m,
    status: _s,
    apiVersion: _a,
    kind: _k,
    ...rest
  } = obj as ApiObject & { status?: unknown };
  return JSON.stringify(rest);
}

/** RFC 7386 merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return structuredClone(patch);
  const out: Record<string, unknown> =
    target !== null && typeof target === "object" && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export interface FakeClusterOptions {
  /** Start time of the fake clock; default 2024-01-01T00:00:00Z. */
  now?: number;
  /** Caches see every write at once (handlers fire synchronously inside the write). */
  autoFlush?: boolean;
  /** Pods deleted while bound to a node stay, terminating, until `finishTermination` (like the registry). */
  gracefulPodDeletion?: boolean;
}

export class FakeCluster {
  readonly clock: FakeClock;
  readonly actions: Action[] = [];
  readonly events: { type: EventType; reason: string; message: string; object: string }[] = [];
  readonly queue = { added: [] as string[], after: [] as [string, number][] };
  autoFlush: boolean;
  /** Called after every change to the store, whoever made it: where invariants are checked. */
  afterChange: (() => void) | undefined;
  private readonly gracefulPodDeletion: boolean;
  private readonly store = new Map<string, Map<string, ApiObject>>();
  private readonly caches = new Map<string, ObjectCache<ApiObject>>();
  private readonly handlers = new Map<string, EventHandler<ApiObject>[]>();
  private pending: PendingEvent[] = [];
  private readonly failures: { verb: Verb; resource: string; error: Error }[] = [];
  private rv = 100;
  private uids = 0;
  private names = 0;

  constructor(opts: FakeClusterOptions = {}) {
    this.clock = new FakeClock(opts.now ?? Date.parse("2024-01-01T00:00:00Z"));
    this.autoFlush = opts.autoFlush ?? false;
    this.gracefulPodDeletion = opts.gracefulPodDeletion ?? false;
  }

  /** The cache of `info`'s resource, indexed by owner uid like the shared informers. */
  lister<T>(info: ResourceInfo): Lister<T> {
    return this.cache(info.plural) as unknown as Lister<T>;
  }

  addHandler<T>(info: ResourceInfo, handler: EventHandler<T>): void {
    const list = this.handlers.get(info.plural) ?? [];
    list.push(handler as unknown as EventHandler<ApiObject>);
    this.handlers.set(info.plural, list);
  }

  /** Stores objects as they are (uids, versions and times filled when missing) and caches them, firing no handlers. */
  seed(info: ResourceInfo, ...objs: ApiObject[]): void {
    for (const obj of objs) {
      const stored = structuredClone(obj);
      stored.metadata.uid ??= `uid-${++this.uids}`;
      stored.metadata.resourceVersion = String(++this.rv);
      stored.metadata.creationTimestamp ??= rfc3339(this.clock.now());
      stored.metadata.generation ??= 1;
      this.bucket(info.plural).set(objectKey(stored), stored);
      this.cache(info.plural).put(deepFreeze(structuredClone(stored)));
    }
  }

  /** The stored (not cached) object, or undefined. */
  stored<T>(info: ResourceInfo, key: string): T | undefined {
    const obj = this.bucket(info.plural).get(key);
    return obj ? (structuredClone(obj) as unknown as T) : undefined;
  }

  storedList<T>(info: ResourceInfo): T[] {
    return [...this.bucket(info.plural).values()].map((o) => structuredClone(o) as unknown as T);
  }

  /** Changes a stored object outside the controllers (a user, an agent), e.g. to mark a pod Ready. */
  mutate<T extends ApiObject>(info: ResourceInfo, key: string, change: (obj: T) => void): T {
    const current = this.bucket(info.plural).get(key);
    if (!current) throw new Error(`mutate: ${info.plural} ${key} not stored`);
    const next = structuredClone(current) as T;
    change(next);
    if (specOf(next) !== specOf(current)) next.metadata.generation = (current.metadata.generation ?? 1) + 1;
    return this.put(info.plural, next) as T;
  }

  /** Removes a terminating object for good (what a node agent does once the containers stopped). */
  finishTermination(info: ResourceInfo, key: string): void {
    const obj = this.bucket(info.plural).get(key);
    if (obj) this.remove(info.plural, obj);
  }

  /** Makes the next `verb` on `info` throw `error` (once). */
  failNext(verb: Verb, info: ResourceInfo, error: Error): void {
    this.failures.push({ verb, resource: info.plural, error });
  }

  /** Applies every store change to the caches, in order, firing handlers like an informer. */
  flush(): void {
    const events = this.pending;
    this.pending = [];
    for (const e of events) this.deliver(e);
  }

  /** Returns the actions recorded so far and forgets them. */
  takeActions(): Action[] {
    return this.actions.splice(0);
  }

  readonly recorder: EventRecorder = {
    event: (obj: EventSubject, type: EventType, reason: string, message: string) => {
      this.events.push({ type, reason, message, object: objectKey(obj) });
    },
  };

  /** Records `add` and `addAfter` calls instead of queueing. */
  readonly workQueue = {
    add: (key: string) => void this.queue.added.push(key),
    addAfter: (key: string, ms: number) => void this.queue.after.push([key, ms]),
  };

  readonly client: ControllerClient = {
    get: async <T extends ApiObject>(info: ResourceInfo, namespace: string, name: string) => {
      this.record("get", info, namespace, name);
      return structuredClone(this.require(info, namespace, name)) as T;
    },
    create: async <T extends ApiObject>(info: ResourceInfo, namespace: string, obj: T) => {
      const body = structuredClone(obj);
      let name = body.metadata.name ?? "";
      if (!name && body.metadata.generateName) name = body.metadata.generateName + this.suffix();
      this.record("create", info, namespace, name, structuredClone(obj));
      const key = objectKey({ metadata: { namespace, name } });
      if (this.bucket(info.plural).has(key)) {
        throw new ApiError("AlreadyExists", `${info.kind} "${name}" already exists`);
      }
      body.metadata = {
        ...body.metadata,
        name,
        namespace,
        uid: `uid-${++this.uids}`,
        generation: 1,
        creationTimestamp: rfc3339(this.clock.now()),
      };
      const withStatus = body as T & { status?: unknown };
      if (info.kind === "Pod") withStatus.status = { phase: "Pending" };
      else delete withStatus.status;
      return this.put(info.plural, body) as T;
    },
    update: async <T extends ApiObject>(info: ResourceInfo, obj: T) => {
      const { namespace = "", name = "" } = obj.metadata;
      this.record("update", info, namespace, name, structuredClone(obj));
      const current = this.checkVersion(info, obj);
      const next = structuredClone(obj) as T & { status?: unknown };
      next.metadata = {
        ...next.metadata,
        ...definedFields({
          uid: current.metadata.uid,
          creationTimestamp: current.metadata.creationTimestamp,
          generation: current.metadata.generation,
        }),
      };
      if (current.metadata.deletionTimestamp)
        next.metadata.deletionTimestamp = current.metadata.deletionTimestamp;
      next.status = (current as { status?: unknown }).status;
      if (specOf(next) !== specOf(current)) next.metadata.generation = (current.metadata.generation ?? 1) + 1;
      return this.put(info.plural, next) as T;
    },
    updateStatus: async <T extends ApiObject>(info: ResourceInfo, obj: T) => {
      const { namespace = "", name = "" } = obj.metadata;
      this.record("updateStatus", info, namespace, name, structuredClone(obj));
      const current = this.checkVersion(info, obj);
      const next = structuredClone(current) as T & { status?: unknown };
      next.status = structuredClone((obj as { status?: unknown }).status);
      return this.put(info.plural, next) as T;
    },
    patch: async <T extends ApiObject>(
      info: ResourceInfo,
      namespace: string,
      name: string,
      patch: MergePatch,
    ) => {
      this.record("patch", info, namespace, name, structuredClone(patch));
      const current = this.require(info, namespace, name);
      const rv = (patch.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
      if (rv && rv !== current.metadata.resourceVersion) throw this.conflict(info, name);
      const next = mergePatch(current, patch) as T & { status?: unknown };
      next.status = (current as { status?: unknown }).status;
      if (specOf(next) !== specOf(current)) next.metadata.generation = (current.metadata.generation ?? 1) + 1;
      return this.put(info.plural, next) as T;
    },
    delete: async (
      info: ResourceInfo,
      namespace: string,
      name: string,
      opts: ControllerDeleteOptions = {},
    ) => {
      this.record("delete", info, namespace, name);
      const current = this.require(info, namespace, name);
      if (opts.uid && opts.uid !== current.metadata.uid) throw this.conflict(info, name);
      const bound = Boolean((current as { spec?: { nodeName?: string } }).spec?.nodeName);
      if (info.kind === "Pod" && this.gracefulPodDeletion && bound) {
        if (current.metadata.deletionTimestamp) return;
        const next = structuredClone(current);
        next.metadata.deletionTimestamp = rfc3339(this.clock.now());
        this.put(info.plural, next);
        return;
      }
      this.remove(info.plural, current);
    },
  };

  private record(verb: Verb, info: ResourceInfo, namespace: string, name: string, body?: unknown): void {
    this.actions.push(
      body === undefined
        ? { verb, resource: info.plural, namespace, name }
        : { verb, resource: info.plural, namespace, name, body },
    );
    const i = this.failures.findIndex((f) => f.verb === verb && f.resource === info.plural);
    if (i >= 0) throw this.failures.splice(i, 1)[0]!.error;
  }

  private require(info: ResourceInfo, namespace: string, name: string): ApiObject {
    const obj = this.bucket(info.plural).get(objectKey({ metadata: { namespace, name } }));
    if (!obj) throw new ApiError("NotFound", `${info.kind} "${name}" not found`);
    return obj;
  }

  private checkVersion(info: ResourceInfo, obj: ApiObject): ApiObject {
    const current = this.require(info, obj.metadata.namespace ?? "", obj.metadata.name ?? "");
    const rv = obj.metadata.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion) throw this.conflict(info, obj.metadata.name ?? "");
    return current;
  }

  private conflict(info: ResourceInfo, name: string): ApiError {
    return new ApiError(
      "Conflict",
      `Operation cannot be fulfilled on ${info.plural} "${name}": the object has been modified`,
    );
  }

  private suffix(): string {
    let n = this.names++;
    let s = "";
    for (let i = 0; i < 5; i++) {
      s += alphabet[n % alphabet.length];
      n = Math.floor(n / alphabet.length);
    }
    return s;
  }

  private put(resource: string, obj: ApiObject): ApiObject {
    obj.metadata.resourceVersion = String(++this.rv);
    this.bucket(resource).set(objectKey(obj), obj);
    this.emit({ resource, type: "put", obj: structuredClone(obj) });
    return structuredClone(obj);
  }

  private remove(resource: string, obj: ApiObject): void {
    this.bucket(resource).delete(objectKey(obj));
    const last = structuredClone(obj);
    last.metadata.resourceVersion = String(++this.rv);
    this.emit({ resource, type: "remove", obj: last });
  }

  private emit(e: PendingEvent): void {
    this.afterChange?.();
    if (this.autoFlush) this.deliver(e);
    else this.pending.push(e);
  }

  private deliver(e: PendingEvent): void {
    const cache = this.cache(e.resource);
    const handlers = this.handlers.get(e.resource) ?? [];
    const obj = deepFreeze(e.obj);
    if (e.type === "remove") {
      cache.remove(objectKey(obj));
      for (const h of handlers) h.onDelete?.(obj);
      return;
    }
    const old = cache.put(obj);
    for (const h of handlers) {
      if (old) h.onUpdate?.(old, obj);
      else h.onAdd?.(obj);
    }
  }

  private bucket(resource: string): Map<string, ApiObject> {
    let b = this.store.get(resource);
    if (!b) {
      b = new Map();
      this.store.set(resource, b);
    }
    return b;
  }

  private cache(resource: string): ObjectCache<ApiObject> {
    let c = this.caches.get(resource);
    if (!c) {
      c = new ObjectCache<ApiObject>({ [byOwnerUidIndex]: byOwnerUid });
      this.caches.set(resource, c);
    }
    return c;
  }
}
