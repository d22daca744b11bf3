/**
 * One watch over an etcd key prefix, turned into Kubernetes watch events for the objects that match
 * a selection. An object that starts matching arrives as ADDED, one that stops matching as DELETED
 * (carrying its new state), a deleted object as DELETED carrying its last state with the deletion's
 * revision. Owns its etcd watcher and bookmark timer; `close()` releases both.
 */
import type { Etcd3, IEvent, IKeyValue, IWatchResponse, Watcher } from "etcd3";
import { ApiError } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { apiVersionOf, type ResourceInfo } from "../../foundation/api/resources.js";
import type { WatchEvent } from "../../foundation/api/watch.js";
import type { Clock, Timer } from "../../foundation/util/clock.js";
import { tracer } from "../../foundation/util/trace.js";

const trace = tracer("store-watch");

export interface WatchHandle {
  /** Stops the stream; no callback fires after it returns. */
  close(): void;
}

export interface OpenWatchOptions {
  client: Etcd3;
  info: ResourceInfo;
  prefix: string;
  /** Events with a revision above this are delivered. */
  fromRevision: number;
  /** Objects delivered first as ADDED (already filtered). */
  initial: KubeObject[];
  /** Whether an object is selected; absent, every object is (and previous values need no decoding). */
  matches?: (obj: KubeObject) => boolean;
  decode: (kv: IKeyValue) => KubeObject;
  withVersion: (obj: KubeObject, revision: string) => KubeObject;
  clock: Clock;
  bookmarkIntervalMs: number;
  onEvent: (event: WatchEvent<KubeObject>) => void;
  onError: (err: ApiError) => void;
}

/**
 * Starts the etcd watcher and resolves once etcd has accepted it. Nothing is delivered before the
 * returned promise settles; the initial ADDED events come first, in order, then live changes.
 */
export async function openWatch(opts: OpenWatchOptions): Promise<WatchHandle> {
  const { info } = opts;
  let lastRevision = opts.fromRevision;
  let cancelBookmarks: (() => void) | undefined;
  const gate = new EventGate(opts.initial, opts.onEvent);
  const deliver = gate.deliver;

  const stop = (): void => {
    gate.closed = true;
    cancelBookmarks?.();
    watcher.removeAllListeners("data");
    watcher.cancel().catch((err: unknown) => trace("cancel failed", String(err)));
  };

  const watcher: Watcher = opts.client
    .watch()
    .prefix(opts.prefix)
    .withPreviousKV()
    .startRevision(String(opts.fromRevision + 1))
    .watcher();

  watcher.on("data", (res: IWatchResponse) => {
    for (const ev of res.events) {
      const event = toWatchEvent(ev, opts);
      if (event) deliver(event);
      lastRevision = Math.max(lastRevision, Number(ev.kv.mod_revision));
    }
    // Only an event-free (progress) response promises that nothing at or below its revision is still to come.
    if (res.events.length === 0) lastRevision = Math.max(lastRevision, Number(res.header.revision));
  });
  watcher.on("disconnected", (err) => {
    trace("disconnected, etcd3 resumes", info.plural, String(err));
    resumeAfter(watcher, lastRevision);
  });

  let connected = false;
  await new Promise<void>((resolve, reject) => {
    watcher.once("connected", () => {
      connected = true;
      resolve();
    });
    watcher.on("error", (err: Error) => {
      if (gate.closed) return;
      stop();
      // etcd cancels a watch on its own only when the start revision was compacted away.
      const gone = new ApiError(
        "Gone",
        `too old resource version: ${opts.fromRevision} (etcd cancelled the watch on ${info.plural}: ${err.message})`,
      );
      if (connected) opts.onError(gone);
      else reject(gone);
    });
  });

  gate.openSoon(() => {
    cancelBookmarks = scheduleBookmarks({
      clock: opts.clock,
      info,
      intervalMs: opts.bookmarkIntervalMs,
      revision: () => lastRevision,
      deliver,
    });
  });

  return { close: stop };
}

/**
 * Makes etcd3 resume `watcher` after `revision` when it reconnects. On its own it resumes after the
 * revision in the last response's header, which while a watch catches up on history is etcd's
 * current revision, past the changes not sent yet: they would be lost.
 */
export function resumeAfter(watcher: Watcher, revision: number): void {
  watcher.request.start_revision = String(revision + 1);
}

/**
 * Holds a new watch's events (its initial ADDED ones first) until the turn after it was set up, so
 * that nothing reaches the caller before the promise that hands it the watch has settled.
 */
export class EventGate {
  closed = false;
  private open = false;
  private readonly pending: WatchEvent<KubeObject>[];

  constructor(
    initial: readonly KubeObject[],
    private readonly onEvent: (event: WatchEvent<KubeObject>) => void,
  ) {
    this.pending = initial.map((object) => ({ type: "ADDED", object }));
  }

  readonly deliver = (event: WatchEvent<KubeObject>): void => {
    if (this.closed) return;
    if (this.open) this.onEvent(event);
    else this.pending.push(event);
  };

  /** On the next turn, delivers what waited, then calls `then` unless the watch closed meanwhile. */
  openSoon(then: () => void): void {
    setImmediate(() => {
      this.open = true;
      for (const event of this.pending.splice(0)) {
        if (this.closed) return;
        this.onEvent(event);
      }
      if (!this.closed) then();
    });
  }
}

function toWatchEvent(ev: IEvent, opts: OpenWatchOptions): WatchEvent<KubeObject> | undefined {
  const { decode } = opts;
  const deleted = ev.type === "Delete";
  if (deleted && !ev.prev_kv) return undefined;
  const prevKv = ev.prev_kv;
  const obj = deleted ? opts.withVersion(decode(prevKv!), ev.kv.mod_revision) : decode(ev.kv);
  return selectEvent(deleted, obj, Boolean(prevKv), () => decode(prevKv!), opts.matches);
}

/**
 * What a watcher selecting `matches` (everything when absent) sees of one change: `obj` is the new
 * state, or for a deletion the last one at the deletion's revision. An object that starts matching
 * arrives as ADDED, one that stops as DELETED. `prev` is called only when the answer depends on it.
 */
export function selectEvent(
  deleted: boolean,
  obj: KubeObject,
  hadPrev: boolean,
  prev: () => KubeObject,
  matches: ((obj: KubeObject) => boolean) | undefined,
): WatchEvent<KubeObject> | undefined {
  if (deleted) return !matches || matches(obj) ? { type: "DELETED", object: obj } : undefined;
  // Most watches select everything: then that a previous value exists is all it takes to know the
  // object was there before, and only a selective watch looks at it to see whether it matched.
  const prevMatched = hadPrev && (!matches || matches(prev()));
  if (!matches || matches(obj)) return { type: prevMatched ? "MODIFIED" : "ADDED", object: obj };
  return prevMatched ? { type: "DELETED", object: obj } : undefined;
}

export interface BookmarkOptions {
  clock: Clock;
  info: ResourceInfo;
  /** 0 or less sends none. */
  intervalMs: number;
  /** The newest revision the watcher has seen everything up to. */
  revision: () => number;
  deliver: (event: WatchEvent<KubeObject>) => void;
}

/** Sends a BOOKMARK every `intervalMs` until the returned function is called. */
export function scheduleBookmarks(opts: BookmarkOptions): () => void {
  let timer: Timer | undefined;
  let cancelled = false;
  const next = (): void => {
    if (opts.intervalMs <= 0 || cancelled) return;
    timer = opts.clock.setTimer(opts.intervalMs, () => {
      opts.deliver({
        type: "BOOKMARK",
        object: {
          apiVersion: apiVersionOf(opts.info),
          kind: opts.info.kind,
          metadata: { resourceVersion: String(opts.revision()) },
        },
      });
      next();
    });
  };
  next();
  return () => {
    cancelled = true;
    timer?.cancel();
  };
}
