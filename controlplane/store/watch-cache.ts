/**
 * One etcd watch per resource, shared by every store watch on it, like Kubernetes' watch cache
 * (the Cacher). It keeps the current object under every key, so a change's previous state is known
 * without asking etcd for it (`prev_kv` is a read in etcd for every event of every watcher: a third
 * of etcd's CPU under load), decodes each change once however many watch it, and remembers recent
 * changes so a watch from a recent resourceVersion (an informer resuming, a client's watch after its
 * list) replays them instead of opening a watch of its own. A watch from further back than the
 * cache remembers is not served here: the store opens a direct etcd watch for it, as before.
 *
 * Objects handed out are frozen and shared between watchers; nobody may change them.
 */
import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from "etcd3";
import { ApiError } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { deepFreeze } from "../../foundation/api/readonly.js";
import type { ResourceInfo } from "../../foundation/api/resources.js";
import type { WatchEvent } from "../../foundation/api/watch.js";
import type { Clock } from "../../foundation/util/clock.js";
import { tracer } from "../../foundation/util/trace.js";
import { EventGate, resumeAfter, scheduleBookmarks, selectEvent, type WatchHandle } from "./watch.js";

const trace = tracer("watch-cache");

/** One change as the cache saw it. For a deletion `obj` is the last state, at the deletion's revision. */
interface Change {
  revision: number;
  key: string;
  deleted: boolean;
  obj: KubeObject;
  prev: KubeObject | undefined;
}

export interface WatchCacheOptions {
  client: Etcd3;
  info: ResourceInfo;
  /** The key prefix of every object of the resource. */
  prefix: string;
  /** Every object of the resource by etcd key, as of `revision`; rejects with Gone when compacted. */
  snapshot: (revision: number) => Promise<Map<string, KubeObject>>;
  decode: (kv: IKeyValue) => KubeObject;
  withVersion: (obj: KubeObject, revision: string) => KubeObject;
  clock: Clock;
  /** Changes remembered for replay: at most this many... */
  historyLimit: number;
  /** ...and none older than this. */
  historyMs: number;
}

export interface CacheWatchOptions {
  /** Changes with a revision above this are delivered. */
  fromRevision: number;
  /** Objects delivered first as ADDED (already selected). */
  initial: KubeObject[];
  /** Only keys under this prefix (a namespace's). */
  prefix: string;
  matches?: (obj: KubeObject) => boolean;
  bookmarkIntervalMs: number;
  onEvent: (event: WatchEvent<KubeObject>) => void;
  onError: (err: ApiError) => void;
}

interface Watch {
  opts: CacheWatchOptions;
  deliver: (event: WatchEvent<KubeObject>) => void;
  fail: (err: ApiError) => void;
}

/** One start of the cache: its etcd watch, from a revision until `stop()`. */
interface Run {
  /** True once the etcd watch runs; false when it could not start (or was stopped first). */
  ready: Promise<boolean>;
  /** Settles `ready` of a start still waiting for etcd, which may never answer a cancelled watch. */
  abort: () => void;
}

export class WatchCache {
  private objects = new Map<string, KubeObject>();
  /** Recent changes, oldest first, from `historyStart` on (the ones before are forgotten). */
  private history: Change[] = [];
  private historyTimes: number[] = [];
  private historyStart = 0;
  /** Watches from a revision below this cannot be replayed: changes after it may be forgotten. */
  private horizon = 0;
  /** The newest revision whose changes have all been delivered. */
  private revision = 0;
  private readonly watches = new Set<Watch>();
  private watcher: Watcher | undefined;
  private run: Run | undefined;

  constructor(private readonly opts: WatchCacheOptions) {}

  /**
   * Serves a watch from `fromRevision` on, or returns undefined when the cache cannot (the revision
   * is older than what it remembers, or it could not start there): the caller then watches etcd
   * directly. Nothing is delivered before the returned promise settles; `initial` comes first.
   */
  async watch(opts: CacheWatchOptions): Promise<WatchHandle | undefined> {
    // The cache may stop while this waits for it to start (its last watch closed meanwhile): then
    // it starts again, from this watch's revision.
    for (let attempt = 0; attempt < 3; attempt++) {
      const run = this.start(opts.fromRevision);
      if (!(await run.ready)) return undefined;
      if (run !== this.run) continue;
      if (opts.fromRevision < this.horizon) {
        if (this.watches.size === 0) this.stop(run);
        return undefined;
      }
      return this.join(opts);
    }
    return undefined;
  }

  /** Ends every watch with `err` and lets go of the etcd watch; the next watch starts it again. */
  reset(err: ApiError): void {
    // A watcher's error handler may watch again at once, starting a new run: leave that one be.
    const run = this.run;
    for (const watch of [...this.watches]) watch.fail(err);
    this.stop(run);
  }

  /** Adds a watch to the running cache: what history holds after its revision first, then live changes. */
  private join(opts: CacheWatchOptions): WatchHandle {
    const run = this.run;
    const gate = new EventGate(opts.initial, opts.onEvent);
    let stopBookmarks: (() => void) | undefined;
    const close = (): void => {
      if (gate.closed) return;
      gate.closed = true;
      stopBookmarks?.();
      this.watches.delete(watch);
      if (this.watches.size === 0) this.stop(run);
    };
    const watch: Watch = {
      opts,
      deliver: gate.deliver,
      fail: (err) => {
        if (gate.closed) return;
        close();
        opts.onError(err);
      },
    };
    for (let i = this.historyStart; i < this.history.length; i++) this.offer(watch, this.history[i]!);
    this.watches.add(watch);
    gate.openSoon(() => {
      stopBookmarks = scheduleBookmarks({
        clock: this.opts.clock,
        info: this.opts.info,
        intervalMs: opts.bookmarkIntervalMs,
        revision: () => Math.max(this.revision, opts.fromRevision),
        deliver: gate.deliver,
      });
    });
    return { close };
  }

  /** The running (or starting) cache, started at `revision` if there is none. */
  private start(revision: number): Run {
    if (this.run) return this.run;
    let abort!: () => void;
    const aborted = new Promise<boolean>((resolve) => {
      abort = () => resolve(false);
    });
    const run: Run = { ready: aborted, abort };
    this.run = run;
    run.ready = Promise.race([this.begin(revision, run), aborted]).catch((err: unknown) => {
      trace("start failed", this.opts.info.plural, String(err));
      this.stop(run);
      return false;
    });
    return run;
  }

  private async begin(revision: number, run: Run): Promise<boolean> {
    const objects = await this.opts.snapshot(revision);
    if (run !== this.run) return false;
    for (const obj of objects.values()) deepFreeze(obj);
    this.objects = objects;
    this.history = [];
    this.historyTimes = [];
    this.historyStart = 0;
    this.horizon = revision;
    this.revision = revision;
    const watcher = this.opts.client
      .watch()
      .prefix(this.opts.prefix)
      .startRevision(String(revision + 1))
      .watcher();
    this.watcher = watcher;
    watcher.on("data", (res: IWatchResponse) => this.receive(res, run));
    watcher.on("disconnected", (err) => {
      trace("disconnected, etcd3 resumes", this.opts.info.plural, String(err));
      if (run === this.run) resumeAfter(watcher, this.revision);
    });
    await new Promise<void>((resolve, reject) => {
      watcher.once("connected", () => resolve());
      watcher.on("error", (err: Error) => {
        reject(err);
        if (run !== this.run) return;
        // etcd cancels a watch on its own only when its start revision was compacted away.
        this.reset(
          new ApiError(
            "Gone",
            `too old resource version: the watch cache of ${this.opts.info.plural} fell behind (${err.message})`,
          ),
        );
      });
    });
    trace("started", this.opts.info.plural, revision, objects.size);
    return run === this.run;
  }

  /** Lets go of `run`'s etcd watch and everything it learnt, unless a later run replaced it. */
  private stop(run: Run | undefined): void {
    if (!run || run !== this.run) return;
    this.run = undefined;
    run.abort();
    const watcher = this.watcher;
    this.watcher = undefined;
    this.objects = new Map();
    this.history = [];
    this.historyTimes = [];
    this.historyStart = 0;
    this.horizon = 0;
    this.revision = 0;
    if (watcher) {
      watcher.removeAllListeners("data");
      watcher.cancel().catch((err: unknown) => trace("cancel failed", String(err)));
    }
  }

  private receive(res: IWatchResponse, run: Run): void {
    const now = this.opts.clock.now();
    for (const ev of res.events) {
      // A watcher's handler may have closed the last watch, stopping the cache, mid-response.
      if (run !== this.run) return;
      const key = ev.kv.key.toString();
      const revision = Number(ev.kv.mod_revision);
      const prev = this.objects.get(key);
      let change: Change;
      if (ev.type === "Delete") {
        this.objects.delete(key);
        if (!prev) continue;
        const obj = deepFreeze(this.opts.withVersion(prev, ev.kv.mod_revision)) as KubeObject;
        change = { revision, key, deleted: true, obj, prev };
      } else {
        const obj = deepFreeze(this.opts.decode(ev.kv)) as KubeObject;
        this.objects.set(key, obj);
        change = { revision, key, deleted: false, obj, prev };
      }
      this.remember(change, now);
      this.revision = Math.max(this.revision, revision);
      for (const watch of this.watches) this.offer(watch, change);
    }
    // Only an event-free (progress) response promises that nothing at or below its revision is still to come.
    if (res.events.length === 0 && run === this.run) {
      this.revision = Math.max(this.revision, Number(res.header.revision));
    }
  }

  private offer(watch: Watch, change: Change): void {
    const { opts } = watch;
    if (change.revision <= opts.fromRevision || !change.key.startsWith(opts.prefix)) return;
    const event = selectEvent(
      change.deleted,
      change.obj,
      change.prev !== undefined,
      () => change.prev!,
      opts.matches,
    );
    if (event) watch.deliver(event);
  }

  private remember(change: Change, now: number): void {
    this.history.push(change);
    this.historyTimes.push(now);
    const { historyLimit, historyMs } = this.opts;
    while (
      this.historyStart < this.history.length &&
      (this.history.length - this.historyStart > historyLimit ||
        now - this.historyTimes[this.historyStart]! > historyMs)
    ) {
      this.horizon = Math.max(this.horizon, this.history[this.historyStart]!.revision);
      this.historyStart++;
    }
    // Forgotten changes are cut off in bulk, so trimming costs O(1) per change on average.
    if (this.historyStart >= 1024 && this.historyStart * 2 >= this.history.length) {
      this.history = this.history.slice(this.historyStart);
      this.historyTimes = this.historyTimes.slice(this.historyStart);
      this.historyStart = 0;
    }
  }
}
