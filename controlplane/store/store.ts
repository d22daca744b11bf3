/**
 * Typed objects over etcd: create, get, list, compare-and-swap update, delete with preconditions and
 * watch. Values are the objects' JSON without `metadata.resourceVersion`; an object's
 * resourceVersion is its key's etcd mod_revision, set on every object the store returns.
 *
 * The store knows nothing of API semantics (defaults, validation, finalizers, graceful deletion):
 * that is the registry's job. It never retries a write whose precondition failed, except inside
 * `guaranteedUpdate`, whose callback decides again on the fresh object.
 */
import type { Etcd3, IKeyValue, IRangeResponse } from "etcd3";
import type { Registry as MetricsRegistry } from "prom-client";
import { ApiError, alreadyExists, conflict, isApiError, notFound } from "../api/errors.js";
import { matchesSelector, type Selector } from "../api/labels.js";
import type { KubeObject } from "../api/object.js";
import type { ResourceInfo } from "../api/resources.js";
import type { WatchEvent } from "../api/watch.js";
import { type Clock, realClock } from "../util/clock.js";
import { tracer } from "../util/trace.js";
import { type FieldSelector, matchesFieldSelector } from "./field-selector.js";
import { objectKeyPath, prefixEnd, rangePrefix, resourcePrefix } from "./keys.js";
import { type StoreMetrics, storeMetrics } from "./metrics.js";
import { openWatch, type WatchHandle } from "./watch.js";

const trace = tracer("store");

/** etcd's default request size limit; larger objects are refused with 413 before they reach etcd. */
export const maxObjectBytes = 1.5 * 1024 * 1024;

/** Keys read per range request when listing, so a large list never exceeds a gRPC message limit. */
const listPageSize = 500;

/** Attempts of `guaranteedUpdate` and `delete` before giving up under constant contention. */
const maxAttempts = 16;

export interface StoreOptions {
  /** The etcd client; the store does not close it. */
  client: Etcd3;
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

/**
 * Computes the next state of an object from its current state. Returning `undefined` (or an object
 * equal to the current one) writes nothing. Throwing aborts the update with that error.
 */
export type UpdateFn = (current: KubeObject) => KubeObject | undefined | Promise<KubeObject | undefined>;

export class Store {
  private readonly client: Etcd3;
  private readonly metrics: StoreMetrics;
  private readonly clock: Clock;
  private readonly watches = new Set<WatchHandle>();

  constructor(opts: StoreOptions) {
    this.client = opts.client;
    this.metrics = storeMetrics(opts.metrics);
    this.clock = opts.clock ?? realClock;
  }

  /**
   * Stores a new object under its namespace and name. `obj.metadata.resourceVersion` is ignored.
   * With `ttlSeconds` the key is attached to an etcd lease and disappears after that long (how
   * Events expire); later updates keep the lease. Returns the stored object with its
   * resourceVersion. Throws AlreadyExists when the key exists, RequestEntityTooLarge over 1.5 MiB.
   */
  async create(info: ResourceInfo, obj: KubeObject, opts: { ttlSeconds?: number } = {}): Promise<KubeObject> {
    const key = this.keyOf(info, obj);
    const value = encode(info, obj);
    let lease: string | undefined;
    if (opts.ttlSeconds) {
      const ttl = opts.ttlSeconds;
      lease = (await this.timed("lease-grant", info, () => this.client.leaseClient.leaseGrant({ TTL: ttl })))
        .ID;
    }
    const res = await this.timed("create", info, () =>
      this.client.kv.txn({
        compare: [{ key: Buffer.from(key), target: "Create", result: "Equal", create_revision: 0 }],
        success: [{ request_put: { key: Buffer.from(key), value, ...(lease ? { lease } : {}) } }],
        failure: [],
      }),
    );
    if (!res.succeeded) {
      if (lease) await this.client.leaseClient.leaseRevoke({ ID: lease }).catch(() => undefined);
      throw alreadyExists(info.kind, obj.metadata.name ?? "", info.group);
    }
    trace("create", key, res.header.revision);
    return withVersion(obj, res.header.revision);
  }

  /** Reads one object. Throws NotFound. */
  async get(info: ResourceInfo, namespace: string | undefined, name: string): Promise<KubeObject> {
    const key = objectKeyPath(info, namespace, name);
    const res = await this.timed("get", info, () => this.client.kv.range({ key: Buffer.from(key) }));
    const kv = res.kvs[0];
    if (!kv) throw notFound(info.kind, name, info.group);
    return decode(kv);
  }

  /** Lists the objects that match, all read at one revision, in key order (namespace, then name). */
  async list(info: ResourceInfo, sel: Selection = {}): Promise<StoreList> {
    const prefix = rangePrefix(info, sel.namespace);
    const end = prefixEnd(prefix);
    const items: KubeObject[] = [];
    let from = Buffer.from(prefix);
    let revision: string | undefined;
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
      for (const kv of page.kvs) {
        const obj = decode(kv);
        if (matches(obj, sel)) items.push(obj);
      }
      const last = page.kvs.at(-1);
      if (!page.more || !last) break;
      from = Buffer.concat([last.key, Buffer.from([0])]);
    }
    return { items, resourceVersion: revision };
  }

  /**
   * Replaces an object if its stored resourceVersion still equals `obj.metadata.resourceVersion`
   * (required). Throws Conflict when it changed, NotFound when it is gone.
   */
  async update(info: ResourceInfo, obj: KubeObject): Promise<KubeObject> {
    const expected = obj.metadata.resourceVersion;
    if (!expected) throw new ApiError("BadRequest", `${info.kind} update needs metadata.resourceVersion`);
    const key = this.keyOf(info, obj);
    const value = encode(info, obj);
    const res = await this.timed("update", info, () =>
      this.client.kv.txn({
        compare: [{ key: Buffer.from(key), target: "Mod", result: "Equal", mod_revision: expected }],
        // ignore_lease keeps an expiring object's lease; the compare guarantees the key exists.
        success: [{ request_put: { key: Buffer.from(key), value, ignore_lease: true } }],
        failure: [{ request_range: { key: Buffer.from(key) } }],
      }),
    );
    if (!res.succeeded) {
      const name = obj.metadata.name ?? "";
      if (res.responses[0]?.response_range.kvs.length === 0) throw notFound(info.kind, name, info.group);
      throw conflict(info.kind, name, staleMessage, info.group);
    }
    trace("update", key, res.header.revision);
    return withVersion(obj, res.header.revision);
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
  ): Promise<KubeObject> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(info, namespace, name);
      const next = await fn(structuredClone(current));
      if (next === undefined || sameContent(info, next, current)) return current;
      try {
        return await this.update(info, {
          ...next,
          metadata: { ...next.metadata, resourceVersion: current.metadata.resourceVersion! },
        });
      } catch (err) {
        if (!isApiError(err, "Conflict") || attempt >= maxAttempts) throw err;
        trace("guaranteedUpdate retry", info.plural, name, attempt);
      }
    }
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
    const rv = opts.resourceVersion ?? "";
    let initial: KubeObject[] = [];
    let fromRevision: number;
    if (rv === "" || rv === "0") {
      const list = await this.list(info, opts);
      initial = list.items;
      fromRevision = Number(list.resourceVersion);
    } else {
      fromRevision = parseRevision(rv);
      await this.checkNotCompacted(info, fromRevision);
    }
    let tracked: WatchHandle | undefined;
    const handle = await openWatch({
      client: this.client,
      info,
      prefix: rangePrefix(info, opts.namespace),
      fromRevision,
      initial,
      matches: (obj) => matches(obj, opts),
      decode,
      withVersion,
      clock: this.clock,
      bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 0,
      onEvent,
      onError: (err) => {
        if (tracked) this.watches.delete(tracked);
        onError(err);
      },
    });
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

  /** The current etcd revision. */
  async currentRevision(): Promise<string> {
    const res = await this.client.kv.range({ key: Buffer.from("/registry/"), limit: 1, count_only: true });
    return res.header.revision;
  }

  /** Closes every open watch; the etcd client stays open (it belongs to the caller). */
  close(): void {
    for (const w of [...this.watches]) w.close();
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
 * Throws RequestEntityTooLarge (413) when `obj` would take more than 1.5 MiB in etcd. The registry
 * calls it before validation, so an oversized object is refused for its size, not for its fields.
 */
export function checkObjectSize(info: ResourceInfo, obj: KubeObject): void {
  checkSize(info, obj, Buffer.byteLength(JSON.stringify(obj)));
}

function checkSize(info: ResourceInfo, obj: KubeObject, bytes: number): void {
  if (bytes > maxObjectBytes) {
    throw new ApiError(
      "RequestEntityTooLarge",
      `${info.kind} "${obj.metadata.name ?? ""}" is too large to store: ${bytes} bytes, the limit is ${maxObjectBytes} bytes (1.5 MiB)`,
      { name: obj.metadata.name ?? "", kind: info.kind, group: info.group },
    );
  }
}

function sameContent(info: ResourceInfo, a: KubeObject, b: KubeObject): boolean {
  return encode(info, a).equals(encode(info, b));
}

function decode(kv: IKeyValue): KubeObject {
  return withVersion(JSON.parse(kv.value.toString()) as KubeObject, kv.mod_revision);
}

function withVersion(obj: KubeObject, revision: string): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: revision } };
}
