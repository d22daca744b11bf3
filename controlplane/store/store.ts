/**
 * Typed objects over etcd: create, get, list, compare-and-swap update, delete with preconditions and
 * watch. Values are the objects' JSON without `metadata.resourceVersion`; an object's
 * resourceVersion is its key's etcd mod_revision, set on every object the store returns.
 *
 * The store knows nothing of API semantics (defaults, validation, finalizers, graceful deletion):
 * that is the registry's job. It never retries a write whose precondition failed, except inside
 * `guaranteedUpdate`, whose callback decides again on the fresh object.
 */
import type { Etcd3, ICompare, IKeyValue, IRangeResponse } from "etcd3";
import type { Registry as MetricsRegistry } from "prom-client";
import { ApiError, alreadyExists, conflict, isApiError, notFound } from "../../foundation/api/errors.js";
import { matchesSelector, type Selector } from "../../foundation/api/labels.js";
import { type KubeObject, maxObjectBytes } from "../../foundation/api/object.js";
import type { ResourceInfo } from "../../foundation/api/resources.js";
import type { WatchEvent } from "../../foundation/api/watch.js";
import { type Clock, realClock } from "../../foundation/util/clock.js";
import { tracer } from "../../foundation/util/trace.js";
import { decodeContinue, encodeContinue } from "./continue-token.js";
import { copyObject } from "./copy-object.js";
import { type FieldSelector, matchesFieldSelector } from "./field-selector.js";
import { objectKeyPath, prefixEnd, rangePrefix, resourcePrefix } from "./keys.js";
import { LeasePool } from "./lease-pool.js";
import { type StoreMetrics, storeMetrics } from "./metrics.js";
import { type PutOutcome, TxnBatcher } from "./txn-batcher.js";
import { openWatch, type WatchHandle } from "./watch.js";
import { WatchCache } from "./watch-cache.js";

const trace = tracer("store");

/** Keys read per range request when listing, so a large list never exceeds a gRPC message limit. */
const listPageSize = 500;

/** Attempts of `guaranteedUpdate` and `delete` before giving up under constant contention. */
const maxAttempts = 16;

export interface StoreOptions {
  /** The etcd client; the store does not close it. */
  client: Etcd3;
  /**
   * How much recent history each resource's watch cache keeps for watches to resume from (see
   * WatchCache); `false` gives every watch its own etcd watch. Default: 1000 changes, 75 s. Kept
   * changes hold their objects past V8's young generation: 20,000 cost the control plane 12% more
   * CPU per pod under the scheduler benchmark, in old-generation collections.
   */
  watchCache?: { historyLimit: number; historyMs: number } | false;
  /** Where the etcd latency histogram is registered; prom-client's default registry when omitted. */
  metrics?: MetricsRegistry;
  clock?: Clock;
}

export interface Selection {
  /** Only this namespace; all namespaces when empty or omitted (ignored for cluster-scoped kinds). */
  namespace?: string;
  labelSelector?: Selector;
  fieldSelector?: FieldSelector;
}

export interface StoreList {
  items: KubeObject[];
  /** The etcd revision the list was read at; watching from it misses nothing. */
  resourceVersion: string;
  /** Set on a page that is not the last: where the next page starts (continue-token.ts). */
  continue?: string;
  /** On such a page, and only without selectors: how many objects the next pages hold. */
  remainingItemCount?: number;
}

/** One page of a list (`limit` / `continue`, as upstream's chunked lists). */
export interface Page {
  /** At most this many objects (0: all the rest); fewer when selectors drop some. */
  limit: number;
  /** The token of the previous page; absent for the first. */
  continue?: string;
}

export interface Preconditions {
  uid?: string;
  resourceVersion?: string;
}

export interface StoreWatchOptions extends Selection {
  /**
   * Deliver events after this revision. Empty or "0": first an ADDED event for every object that
   * matches now, then changes after that.
   */
  resourceVersion?: string;
  /** Period of BOOKMARK events carrying the newest revision seen; 0 or omitted sends none. */
  bookmarkIntervalMs?: number;
}

export type { WatchHandle };

export interface CreateOptions {
  /**
   * Attach the key to an etcd lease so it disappears after at least this many seconds (how Events
   * expire). Leases are shared between objects created close together, see `LeasePool`.
   */
  ttlSeconds?: number;
  /**
   * Create only while this other object still has this resourceVersion, checked in the same etcd
   * transaction (the registry uses it for "the namespace is still the open one I read"). When it
   * changed or is gone, throws Conflict with `details.kind` of the guarding object and writes nothing.
   */
  unchanged?: { info: ResourceInfo; namespace?: string; name: string; resourceVersion: string };
}

export interface GuaranteedUpdateOptions {
  /**
   * The caller's copy of the object (e.g. from an informer cache), tried instead of a first read. A
   * current copy makes the update one etcd round trip; a stale one fails the write's compare, which
   * returns the fresh object in the same round trip, so it costs nothing extra. As in Kubernetes'
   * GuaranteedUpdate, an error or a no-op computed from the copy is confirmed on a fresh read.
   */
  cached?: KubeObject;
}

/**
 * Computes the next state of an object from its current state. Returning `undefined` (or an object
 * equal to the current one) writes nothing. Throwing aborts the update with that error.
 */
export type UpdateFn = (current: KubeObject) => KubeObject | undefined | Promise<KubeObject | undefined>;

/** An object as read from etcd, with the bytes it was decoded from when it was. */
interface Current {
  obj: KubeObject;
  bytes: Buffer | undefined;
  /** False for a caller's cached copy, true once read from etcd. */
  fresh: boolean;
}

export class Store {
  private readonly client: Etcd3;
  private readonly metrics: StoreMetrics;
  private readonly clock: Clock;
  private readonly watches = new Set<WatchHandle>();
  private readonly caches = new Map<string, WatchCache>();
  private closed = false;
  private readonly cacheHistory: { historyLimit: number; historyMs: number } | false;
  private readonly leases: LeasePool;
  private readonly batcher: TxnBatcher;

  constructor(opts: StoreOptions) {
    this.client = opts.client;
    this.metrics = storeMetrics(opts.metrics);
    this.clock = opts.clock ?? realClock;
    this.cacheHistory = opts.watchCache ?? { historyLimit: 1000, historyMs: 75_000 };
    this.batcher = new TxnBatcher((req) => this.client.kv.txn(req), { clock: this.clock });
    this.leases = new LeasePool(this.clock, (ttl) =>
      this.client.leaseClient.leaseGrant({ TTL: ttl }).then((r) => r.ID),
    );
  }

  /**
   * Stores a new object under its namespace and name. `obj.metadata.resourceVersion` is ignored.
   * Returns the stored object with its resourceVersion. Throws AlreadyExists when the key exists,
   * RequestEntityTooLarge over 1.5 MiB, Conflict when `opts.unchanged` no longer holds.
   */
  async create(info: ResourceInfo, obj: KubeObject, opts: CreateOptions = {}): Promise<KubeObject> {
    const key = Buffer.from(this.keyOf(info, obj));
    const value = encode(info, obj);
    const guard = opts.unchanged;
    const guardKey = guard && Buffer.from(objectKeyPath(guard.info, guard.namespace, guard.name));
    const compare: ICompare[] = [{ key, target: "Create", result: "Equal", create_revision: 0 }];
    if (guard && guardKey)
      compare.push({ key: guardKey, target: "Mod", result: "Equal", mod_revision: guard.resourceVersion });
    for (let attempt = 1; ; attempt++) {
      const lease = opts.ttlSeconds ? await this.leases.lease(opts.ttlSeconds) : undefined;
      let res: PutOutcome;
      try {
        res = await this.timed("create", info, () =>
          this.batcher.submit({ compare, put: { key, value, ...(lease ? { lease } : {}) } }),
        );
      } catch (err) {
        // A shared lease someone revoked: forget it and take a new one, once.
        if (lease && attempt === 1 && /lease not found/i.test(String(err))) {
          this.leases.forget(lease);
          continue;
        }
        throw err;
      }
      if (!res.ok) {
        if (res.current.get(key.toString("latin1")) || !guard)
          throw alreadyExists(info.kind, obj.metadata.name ?? "", info.group);
        throw conflict(
          guard.info.kind,
          guard.name,
          `${guard.info.kind} "${guard.name}" changed while ${info.kind} "${obj.metadata.name ?? ""}" was created`,
          guard.info.group,
        );
      }
      trace("create", obj.metadata.name, res.revision);
      return withVersion(obj, res.revision);
    }
  }

  /** Reads one object. Throws NotFound. */
  async get(info: ResourceInfo, namespace: string | undefined, name: string): Promise<KubeObject> {
    return (await this.read(info, namespace, name)).obj;
  }

  private async read(info: ResourceInfo, namespace: string | undefined, name: string): Promise<Current> {
    const key = objectKeyPath(info, namespace, name);
    const res = await this.timed("get", info, () => this.client.kv.range({ key: Buffer.from(key) }));
    const kv = res.kvs[0];
    if (!kv) throw notFound(info.kind, name, info.group);
    return { obj: decode(kv), bytes: kv.value, fresh: true };
  }

  /** Lists the objects that match, all read at one revision, in key order (namespace, then name). */
  async list(info: ResourceInfo, sel: Selection = {}, page?: Page): Promise<StoreList> {
    if (page) return this.listPage(info, sel, page);
    const items: KubeObject[] = [];
    const resourceVersion = await this.scan(info, sel.namespace, undefined, (_, obj) => {
      if (matches(obj, sel)) items.push(obj);
    });
    return { items, resourceVersion };
  }

  /**
   * One page: objects from the token's key (or the range's start) at the token's revision (or the
   * current one), until `limit` match the selection or the range ends. With a selection, etcd is
   * read again for as many keys as the page still lacks until it is full, as upstream fills a chunk.
   */
  private async listPage(info: ResourceInfo, sel: Selection, page: Page): Promise<StoreList> {
    const prefix = rangePrefix(info, sel.namespace);
    const end = prefixEnd(prefix);
    const point = page.continue === undefined ? undefined : decodeContinue(page.continue);
    let from = Buffer.from(prefix + (point?.start ?? ""));
    let revision = point ? String(point.revision) : undefined;
    const filtered = sel.labelSelector !== undefined || sel.fieldSelector !== undefined;
    const items: KubeObject[] = [];
    for (;;) {
      const res: IRangeResponse = await this.timed("list", info, () =>
        this.client.kv.range({
          key: from,
          range_end: end,
          // etcd's 0 is no limit: a continue without a limit reads the rest.
          limit: page.limit === 0 ? 0 : page.limit - items.length,
          ...(revision ? { revision } : {}),
        }),
      ).catch((err: unknown) => {
        if (point && isApiError(err, "Gone")) throw expiredContinue();
        throw err;
      });
      revision ??= res.header.revision;
      for (const kv of res.kvs) {
        const obj = decode(kv);
        if (matches(obj, sel)) items.push(obj);
      }
      const last = res.kvs.at(-1);
      if (!res.more || !last) return { items, resourceVersion: revision };
      from = Buffer.concat([last.key, Buffer.from([0])]);
      if (page.limit === 0 || items.length < page.limit) continue;
      const remaining = Number(res.count) - res.kvs.length;
      return {
        items,
        resourceVersion: revision,
        continue: encodeContinue({
          revision: Number(revision),
          start: from.subarray(prefix.length).toString(),
        }),
        ...(filtered ? {} : { remainingItemCount: remaining }),
      };
    }
  }

  /**
   * Reads every object under the resource's (or a namespace's) prefix at one revision, `at` or the
   * current one, and hands each to `visit` with its key. Returns the revision read at; Gone when
   * `at` was compacted.
   */
  private async scan(
    info: ResourceInfo,
    namespace: string | undefined,
    at: number | undefined,
    visit: (key: string, obj: KubeObject) => void,
  ): Promise<string> {
    const prefix = rangePrefix(info, namespace);
    const end = prefixEnd(prefix);
    let from = Buffer.from(prefix);
    let revision = at === undefined ? undefined : String(at);
    for (;;) {
      const page: IRangeResponse = await this.timed("list", info, () =>
        this.client.kv.range({
          key: from,
          range_end: end,
          limit: listPageSize,
          ...(revision ? { revision } : {}),
        }),
      );
      revision ??= page.header.revision;
      for (const kv of page.kvs) visit(kv.key.toString(), decode(kv));
      const last = page.kvs.at(-1);
      if (!page.more || !last) break;
      from = Buffer.concat([last.key, Buffer.from([0])]);
    }
    return revision;
  }

  /**
   * Replaces an object if its stored resourceVersion still equals `obj.metadata.resourceVersion`
   * (required). Throws Conflict when it changed, NotFound when it is gone.
   */
  async update(info: ResourceInfo, obj: KubeObject): Promise<KubeObject> {
    const expected = obj.metadata.resourceVersion;
    if (!expected) throw new ApiError("BadRequest", `${info.kind} update needs metadata.resourceVersion`);
    const name = obj.metadata.name ?? "";
    const res = await this.compareAndPut(info, this.keyOf(info, obj), expected, encode(info, obj));
    if (res.revision) return withVersion(obj, res.revision);
    if (!res.current) throw notFound(info.kind, name, info.group);
    throw conflict(info.kind, name, staleMessage, info.group);
  }

  /**
   * Read-modify-write that retries when someone else wrote in between: `fn` is called with the
   * freshest object each time, so it must be free of side effects. Returns the stored result (the
   * current object when `fn` asked for no change). Throws NotFound, or whatever `fn` throws.
   */
  async guaranteedUpdate(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    fn: UpdateFn,
    opts: GuaranteedUpdateOptions = {},
  ): Promise<KubeObject> {
    const key = objectKeyPath(info, namespace, name);
    const cached = opts.cached?.metadata.resourceVersion ? opts.cached : undefined;
    let current: Current = cached
      ? { obj: cached, bytes: undefined, fresh: false }
      : await this.read(info, namespace, name);
    for (let attempt = 1; ; attempt++) {
      let next: KubeObject | undefined;
      let value: Buffer | undefined;
      try {
        next = await fn(copyObject(current.obj));
        // Inside the try: an object too large because the cached copy was stale is tried again.
        value = next && encode(info, next);
      } catch (err) {
        if (current.fresh) throw err;
        current = await this.read(info, namespace, name);
        continue;
      }
      if (!next || !value || value.equals(current.bytes ?? encode(info, current.obj))) {
        if (current.fresh) return current.obj;
        current = await this.read(info, namespace, name);
        continue;
      }
      const res = await this.compareAndPut(info, key, current.obj.metadata.resourceVersion!, value);
      if (res.revision) {
        trace("update", key, res.revision);
        return withVersion(next, res.revision);
      }
      if (!res.current) throw notFound(info.kind, name, info.group);
      if (attempt >= maxAttempts) throw conflict(info.kind, name, staleMessage, info.group);
      trace("guaranteedUpdate retry", info.plural, name, attempt);
      current = res.current;
    }
  }

  /**
   * Puts `value` at `key` if its mod revision is still `expected`. On success returns the new
   * revision; otherwise what is stored now (read in the same transaction), or nothing when the key is gone.
   */
  private async compareAndPut(
    info: ResourceInfo,
    key: string,
    expected: string,
    value: Buffer,
  ): Promise<{ revision?: string; current?: Current }> {
    const k = Buffer.from(key);
    const res = await this.timed("update", info, () =>
      // ignore_lease keeps an expiring object's lease; the compare guarantees the key exists.
      this.batcher.submit({
        compare: [{ key: k, target: "Mod", result: "Equal", mod_revision: expected }],
        put: { key: k, value, ignore_lease: true },
      }),
    );
    if (res.ok) return { revision: res.revision };
    const kv = res.current.get(k.toString("latin1"));
    return kv ? { current: { obj: decode(kv), bytes: kv.value, fresh: true } } : {};
  }

  /**
   * Removes an object if the preconditions hold. Returns its last state with the resourceVersion of
   * the deletion. Throws NotFound, or Conflict when a precondition fails.
   */
  async delete(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    preconditions: Preconditions = {},
  ): Promise<KubeObject> {
    const key = objectKeyPath(info, namespace, name);
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(info, namespace, name);
      checkPreconditions(info, current, preconditions);
      const res = await this.timed("delete", info, () =>
        this.client.kv.txn({
          compare: [
            {
              key: Buffer.from(key),
              target: "Mod",
              result: "Equal",
              mod_revision: current.metadata.resourceVersion!,
            },
          ],
          success: [{ request_delete_range: { key: Buffer.from(key) } }],
          failure: [],
        }),
      );
      if (res.succeeded) {
        trace("delete", key, res.header.revision);
        return withVersion(current, res.header.revision);
      }
      if (attempt >= maxAttempts) throw conflict(info.kind, name, staleMessage, info.group);
    }
  }

  /**
   * Streams changes of the selected objects after `opts.resourceVersion`. Events go to `onEvent` in
   * revision order, never before this promise resolves; the stream's end (compaction as Gone, or
   * any other failure) goes once to `onError`, after which nothing more is delivered. Rejects with
   * Gone when the revision is already compacted, BadRequest when it is not a number.
   */
  async watch(
    info: ResourceInfo,
    opts: StoreWatchOptions,
    onEvent: (event: WatchEvent<KubeObject>) => void,
    onError: (err: ApiError) => void,
  ): Promise<WatchHandle> {
    this.checkOpen();
    const rv = opts.resourceVersion ?? "";
    let initial: KubeObject[] = [];
    let fromRevision: number;
    if (rv === "" || rv === "0") {
      const list = await this.list(info, opts);
      initial = list.items;
      fromRevision = Number(list.resourceVersion);
    } else {
      fromRevision = parseRevision(rv);
    }
    let tracked: WatchHandle | undefined;
    const watch = {
      fromRevision,
      initial,
      prefix: rangePrefix(info, opts.namespace),
      ...(opts.labelSelector || opts.fieldSelector
        ? { matches: (obj: KubeObject) => matches(obj, opts) }
        : {}),
      bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 0,
      onEvent,
      onError: (err: ApiError) => {
        if (tracked) this.watches.delete(tracked);
        onError(err);
      },
    };
    let handle = await this.watchCache(info)?.watch(watch);
    if (!handle) {
      this.checkOpen();
      if (rv !== "" && rv !== "0") await this.checkNotCompacted(info, fromRevision);
      handle = await openWatch({
        ...watch,
        client: this.client,
        info,
        decode,
        withVersion,
        clock: this.clock,
      });
    }
    if (this.closed) {
      // The store closed while this watch was being set up: it must not outlive the close.
      handle.close();
      this.checkOpen();
    }
    const own: WatchHandle = {
      close: () => {
        this.watches.delete(own);
        handle.close();
      },
    };
    tracked = own;
    this.watches.add(own);
    return own;
  }

  /** The resource's shared watch cache, made on first use; undefined when caches are off. */
  private watchCache(info: ResourceInfo): WatchCache | undefined {
    if (!this.cacheHistory) return undefined;
    const key = `${info.group}/${info.plural}`;
    let cache = this.caches.get(key);
    if (!cache) {
      cache = new WatchCache({
        client: this.client,
        info,
        prefix: resourcePrefix(info),
        snapshot: async (revision) => {
          const objects = new Map<string, KubeObject>();
          await this.scan(info, undefined, revision, (key, obj) => objects.set(key, obj));
          return objects;
        },
        decode,
        withVersion,
        clock: this.clock,
        ...this.cacheHistory,
      });
      this.caches.set(key, cache);
    }
    return cache;
  }

  /** The current etcd revision. */
  async currentRevision(): Promise<string> {
    const res = await this.client.kv.range({ key: Buffer.from("/registry/"), limit: 1, count_only: true });
    return res.header.revision;
  }

  /** Closes every open watch; the etcd client stays open (it belongs to the caller). */
  close(): void {
    this.closed = true;
    for (const w of [...this.watches]) w.close();
    // Also lets go of watch caches still starting for watches that are not set up yet.
    for (const cache of this.caches.values()) cache.reset(storeClosed());
  }

  private checkOpen(): void {
    if (this.closed) throw storeClosed();
  }

  private keyOf(info: ResourceInfo, obj: KubeObject): string {
    return objectKeyPath(info, obj.metadata.namespace, obj.metadata.name ?? "");
  }

  /** A range read at `revision` fails exactly when etcd compacted it away. */
  private async checkNotCompacted(info: ResourceInfo, revision: number): Promise<void> {
    const prefix = resourcePrefix(info);
    try {
      await this.timed("watch-check", info, () =>
        this.client.kv.range({
          key: Buffer.from(prefix),
          range_end: prefixEnd(prefix),
          revision,
          count_only: true,
        }),
      );
    } catch (err) {
      // A future revision is fine: the watch waits for it, as Kubernetes does.
      if (isApiError(err, "Gone")) throw err;
    }
  }

  private async timed<T>(operation: string, info: ResourceInfo, call: () => Promise<T>): Promise<T> {
    const stop = this.metrics.requestSeconds.startTimer({
      operation,
      type: info.group ? `${info.plural}.${info.group}` : info.plural,
    });
    try {
      return await call();
    } catch (err) {
      throw etcdError(err, operation, info);
    } finally {
      stop();
    }
  }
}

/** Upstream's 410 for a continue token whose revision etcd has compacted. */
const expiredContinue = () =>
  new ApiError(
    "Gone",
    "The provided continue parameter is too old to display a consistent list result. " +
      "You can start a new list without the continue parameter.",
  );

const storeClosed = () => new ApiError("ServiceUnavailable", "the store is closed");

const staleMessage =
  "the object has been modified; please apply your changes to the latest version and try again";

/** Turns an etcd client error into an ApiError: compaction is Gone, anything else Unavailable. */
function etcdError(err: unknown, operation: string, info: ResourceInfo): ApiError {
  if (err instanceof ApiError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (message.includes("compacted")) return new ApiError("Gone", `too old resource version: ${message}`);
  return new ApiError("ServiceUnavailable", `etcd ${operation} of ${info.plural} failed: ${message}`);
}

function parseRevision(rv: string): number {
  if (!/^\d+$/.test(rv)) {
    throw new ApiError(
      "BadRequest",
      `invalid resourceVersion ${JSON.stringify(rv)}: must be a non-negative integer`,
    );
  }
  return Number(rv);
}

/** Throws Conflict naming the field when a uid or resourceVersion precondition does not hold. */
export function checkPreconditions(info: ResourceInfo, current: KubeObject, pre: Preconditions): void {
  const name = current.metadata.name ?? "";
  if (pre.uid && pre.uid !== current.metadata.uid) {
    throw conflict(
      info.kind,
      name,
      `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid ?? ""}`,
      info.group,
    );
  }
  if (pre.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
    throw conflict(
      info.kind,
      name,
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion ?? ""}`,
      info.group,
    );
  }
}

function matches(obj: KubeObject, sel: Selection): boolean {
  return (
    (!sel.labelSelector || matchesSelector(sel.labelSelector, obj.metadata.labels)) &&
    (!sel.fieldSelector || matchesFieldSelector(sel.fieldSelector, obj))
  );
}

function stripVersion(obj: KubeObject): KubeObject {
  const { resourceVersion: _, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

function encode(info: ResourceInfo, obj: KubeObject): Buffer {
  const value = Buffer.from(JSON.stringify(stripVersion(obj)));
  checkSize(info, obj, value.length);
  return value;
}

/**
 * Throws RequestEntityTooLarge (413) when `obj` would be over `maxObjectBytes` in etcd, for callers
 * that do not write it: dry runs, and the registry before it reports an invalid object's fields.
 */
export function checkObjectSize(info: ResourceInfo, obj: KubeObject): void {
  checkSize(info, obj, Buffer.byteLength(JSON.stringify(stripVersion(obj))));
}

function checkSize(info: ResourceInfo, obj: KubeObject, bytes: number): void {
  if (bytes > maxObjectBytes) {
    throw new ApiError(
      "RequestEntityTooLarge",
      `${info.kind} "${obj.metadata.name ?? ""}" is too large to store: ${bytes} bytes, the limit is ${maxObjectBytes} bytes (1.5 MiB, less 4 KiB for etcd's request around it)`,
      { name: obj.metadata.name ?? "", kind: info.kind, group: info.group },
    );
  }
}

function decode(kv: IKeyValue): KubeObject {
  // A freshly parsed object is ours to change: no copy to add its version.
  const obj = JSON.parse(kv.value.toString()) as KubeObject;
  obj.metadata.resourceVersion = kv.mod_revision;
  return obj;
}

function withVersion(obj: KubeObject, revision: string): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: revision } };
}
