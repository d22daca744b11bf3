/**
 * The shared informer: lists, then watches from the list's revision, keeps a local cache (exposed
 * read-only through `lister`) and tells handlers about adds, updates and deletes. A dropped watch
 * resumes from the last revision seen, with capped exponential backoff; a compacted revision (410
 * Gone) relists and emits the difference so consumers converge; a periodic resync re-delivers every
 * object as an update so level-triggered controllers revisit everything.
 */
import { ApiError, isApiError } from "../../foundation/api/errors.js";
import { objectKey } from "../../foundation/api/object.js";
import { type DeepReadonly, deepFreeze, type ObjectWithMeta } from "../../foundation/api/readonly.js";
import type { WatchEvent } from "../../foundation/api/watch.js";
import { type Clock, realClock, type Timer } from "../../foundation/util/clock.js";
import { tracer } from "../../foundation/util/trace.js";
import type { ListerWatcher, WatchHandle } from "./lister-watcher.js";
import { type IndexFunc, type Lister, ObjectCache } from "./object-cache.js";

const trace = tracer("informer");

export interface EventHandler<T> {
  onAdd?(obj: DeepReadonly<T>): void;
  /** Also called by resync with `oldObj === newObj`. */
  onUpdate?(oldObj: DeepReadonly<T>, newObj: DeepReadonly<T>): void;
  /** `obj` is the last state known: the DELETED event's object, or the cached one after a relist. */
  onDelete?(obj: DeepReadonly<T>): void;
}

export interface InformerOptions<T> {
  /** Names this informer in traces and errors, e.g. "pods". */
  name: string;
  clock?: Clock;
  /** Period of re-delivering every cached object as an update; 0 (default) disables resync. */
  resyncMs?: number;
  indexers?: Readonly<Record<string, IndexFunc<T>>>;
  /** First retry delay after a failed list or watch; doubles per consecutive failure. Default 100 ms. */
  retryBaseMs?: number;
  /** Retry delay ceiling. Default 30 s. */
  retryMaxMs?: number;
}

/**
 * The one informer interface everything consumes (controllers, scheduler, DNS, NodeService), shaped
 * after @kubernetes/client-node's: a read-only cache plus add/update/delete notifications, started
 * and stopped by its owner. Consumers never build informers; the integrator hands them shared ones
 * (client/informer-factory.ts), and unit tests may hand in anything that keeps this contract.
 */
export interface Informer<T> {
  /** Names the informer in traces and errors, e.g. "pods". */
  readonly name: string;
  /** Read-only view of the cache; objects are frozen and shared. */
  readonly lister: Lister<T>;
  /** The revision of the newest event applied to the cache. */
  readonly resourceVersion: string;
  /**
   * Registers handlers; a late handler is first told about every object already cached, as adds.
   * Returns a function that unregisters them.
   */
  addEventHandler(handler: EventHandler<T>): () => void;
  /** True once the first list has been applied to the cache. */
  hasSynced(): boolean;
  /** Resolves when the first list is in the cache (or right away if stopped). */
  waitForSync(): Promise<void>;
  /** Starts listing and watching; idempotent. */
  start(): void;
  /** Stops the watch and every timer; the cache keeps its contents. */
  stop(): void;
}

/** The informer over a ListerWatcher: the only implementation of `Informer` outside unit tests. */
export class ListWatchInformer<T extends ObjectWithMeta> implements Informer<T> {
  readonly name: string;
  private readonly cache: ObjectCache<T>;
  private readonly clock: Clock;
  private readonly handlers: EventHandler<T>[] = [];
  private readonly resyncMs: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private lastResourceVersion = "";
  private synced = false;
  private readonly syncWaiters: (() => void)[] = [];
  private running = false;
  private failures = 0;
  /** Bumped on every (re)connect so callbacks from a replaced watch are ignored. */
  private generation = 0;
  private watchHandle: WatchHandle | undefined;
  private retryTimer: Timer | undefined;
  private resyncTimer: Timer | undefined;

  constructor(
    private readonly lw: ListerWatcher<T>,
    opts: InformerOptions<T>,
  ) {
    this.name = opts.name;
    this.clock = opts.clock ?? realClock;
    this.cache = new ObjectCache<T>(opts.indexers);
    this.resyncMs = opts.resyncMs ?? 0;
    this.retryBaseMs = opts.retryBaseMs ?? 100;
    this.retryMaxMs = opts.retryMaxMs ?? 30_000;
  }

  /** Read-only view of the cache; objects are frozen and shared. */
  get lister(): Lister<T> {
    return this.cache;
  }

  /** The revision of the newest event applied to the cache. */
  get resourceVersion(): string {
    return this.lastResourceVersion;
  }

  /**
   * Registers handlers; a late handler is first told about every object already cached, as adds.
   * Returns a function that unregisters them.
   */
  addEventHandler(handler: EventHandler<T>): () => void {
    this.handlers.push(handler);
    if (handler.onAdd) for (const obj of this.cache.list()) this.call(() => handler.onAdd?.(obj));
    return () => {
      const i = this.handlers.indexOf(handler);
      if (i >= 0) this.handlers.splice(i, 1);
    };
  }

  /** Starts listing and watching; idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.scheduleResync();
    void this.relist();
  }

  /** Stops the watch and every timer; the cache keeps its contents. */
  stop(): void {
    this.running = false;
    this.generation++;
    this.watchHandle?.close();
    this.watchHandle = undefined;
    this.retryTimer?.cancel();
    this.resyncTimer?.cancel();
    for (const resolve of this.syncWaiters.splice(0)) resolve();
  }

  /** True once the first list has been applied to the cache. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves when the first list is in the cache (or right away if stopped). */
  waitForSync(): Promise<void> {
    if (this.synced || !this.running) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  private async relist(): Promise<void> {
    const gen = ++this.generation;
    this.watchHandle?.close();
    this.watchHandle = undefined;
    let result: Awaited<ReturnType<ListerWatcher<T>["list"]>>;
    try {
      result = await this.lw.list();
    } catch (err) {
      if (gen !== this.generation) return;
      this.retry(`list failed: ${(err as Error).message}`, () => void this.relist());
      return;
    }
    if (gen !== this.generation) return;
    this.replace(result.items);
    this.lastResourceVersion = result.resourceVersion;
    if (!this.synced) {
      this.synced = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
    this.failures = 0;
    this.watch();
  }

  private watch(): void {
    const gen = ++this.generation;
    let ended = false;
    const fail = (err: Error): void => {
      if (ended || gen !== this.generation) return;
      ended = true;
      this.watchHandle?.close();
      this.watchHandle = undefined;
      if (isApiError(err, "Gone")) {
        trace(`${this.name}: revision ${this.lastResourceVersion} is gone, relisting`);
        this.failures = 0;
        void this.relist();
      } else {
        this.retry(`watch failed: ${err.message}`, () => this.watch());
      }
    };
    const handle = this.lw.watch(
      this.lastResourceVersion,
      (event) => {
        if (ended || gen !== this.generation) return;
        this.failures = 0;
        if (event.type === "ERROR") {
          fail(errorFromStatus(event.object));
          return;
        }
        this.apply(event);
      },
      fail,
    );
    // The stream may have failed (or been replaced) before its handle arrived; then close it.
    const adopt = (h: WatchHandle): void => {
      if (ended || gen !== this.generation) h.close();
      else this.watchHandle = h;
    };
    if ("then" in handle)
      handle.then(adopt, (err: unknown) => fail(err instanceof Error ? err : new Error(String(err))));
    else adopt(handle);
  }

  private retry(why: string, again: () => void): void {
    if (!this.running) return;
    const delay = Math.min(this.retryBaseMs * 2 ** this.failures, this.retryMaxMs);
    this.failures++;
    trace(`${this.name}: ${why}; retrying in ${delay} ms`);
    this.retryTimer = this.clock.setTimer(delay, again);
  }

  private apply(event: WatchEvent<T>): void {
    const rv = event.object?.metadata?.resourceVersion;
    if (rv) this.lastResourceVersion = rv;
    if (event.type === "BOOKMARK") return;
    const obj = deepFreeze(event.object);
    if (event.type === "DELETED") {
      this.cache.remove(objectKey(obj));
      this.emitDelete(obj);
      return;
    }
    const old = this.cache.put(obj);
    if (old) this.emitUpdate(old, obj);
    else this.emitAdd(obj);
  }

  /** Swaps the cache for a fresh list and emits what changed: adds, updates (new revision) and deletes. */
  private replace(items: T[]): void {
    const seen = new Set<string>();
    for (const item of items) {
      const obj = deepFreeze(item);
      const key = objectKey(obj);
      seen.add(key);
      const old = this.cache.put(obj);
      if (!old) this.emitAdd(obj);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emitUpdate(old, obj);
    }
    for (const key of this.cache.keys()) {
      if (seen.has(key)) continue;
      const old = this.cache.remove(key);
      if (old) this.emitDelete(old);
    }
  }

  private scheduleResync(): void {
    if (!(this.resyncMs > 0)) return;
    this.resyncTimer = this.clock.setTimer(this.resyncMs, () => {
      if (!this.running) return;
      if (this.synced) for (const obj of this.cache.list()) this.emitUpdate(obj, obj);
      this.scheduleResync();
    });
  }

  private emitAdd(obj: DeepReadonly<T>): void {
    for (const h of this.handlers) if (h.onAdd) this.call(() => h.onAdd?.(obj));
  }

  private emitUpdate(oldObj: DeepReadonly<T>, newObj: DeepReadonly<T>): void {
    for (const h of this.handlers) if (h.onUpdate) this.call(() => h.onUpdate?.(oldObj, newObj));
  }

  private emitDelete(obj: DeepReadonly<T>): void {
    for (const h of this.handlers) if (h.onDelete) this.call(() => h.onDelete?.(obj));
  }

  /** A throwing handler must not stop delivery to the others or break the watch. */
  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      trace(`${this.name}: event handler threw: ${(err as Error).stack ?? err}`);
    }
  }
}

function errorFromStatus(status: unknown): Error {
  if (status && typeof status === "object" && "code" in status) {
    return ApiError.fromStatus(status as Parameters<typeof ApiError.fromStatus>[0], 500);
  }
  return new Error("watch stream sent an ERROR event without a Status");
}
