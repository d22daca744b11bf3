/**
 * One watch over an etcd key prefix, turned into Kubernetes watch events for the objects that match
 * a selection. An object that starts matching arrives as ADDED, one that stops matching as DELETED
 * (carrying its new state), a deleted object as DELETED carrying its last state with the deletion's
 * revision. Owns its etcd watcher and bookmark timer; `close()` releases both.
 */
import type { Etcd3, IEvent, IKeyValue, IWatchResponse, Watcher } from "etcd3";
import { ApiError } from "../api/errors.js";
import type { KubeObject } from "../api/object.js";
import { apiVersionOf, type ResourceInfo } from "../api/resources.js";
import type { WatchEvent } from "../api/watch.js";
import type { Clock, Timer } from "../util/clock.js";
import { tracer } from "../util/trace.js";

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
  let closed = false;
  let ready = false;
  let lastRevision = opts.fromRevision;
  let bookmarkTimer: Timer | undefined;
  const pending: WatchEvent<KubeObject>[] = opts.initial.map((object) => ({ type: "ADDED", object }));

  const deliver = (event: WatchEvent<KubeObject>): void => {
    if (closed) return;
    if (ready) opts.onEvent(event);
    else pending.push(event);
  };

  const stop = (): void => {
    closed = true;
    bookmarkTimer?.cancel();
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
  watcher.on("disconnected", (err) => trace("disconnected, etcd3 resumes", info.plural, String(err)));

  let connected = false;
  await new Promise<void>((resolve, reject) => {
    watcher.once("connected", () => {
      connected = true;
      resolve();
    });
    watcher.on("error", (err: Error) => {
      if (closed) return;
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

  const scheduleBookmark = (): void => {
    if (opts.bookmarkIntervalMs <= 0 || closed) return;
    bookmarkTimer = opts.clock.setTimer(opts.bookmarkIntervalMs, () => {
      deliver({
        type: "BOOKMARK",
        object: {
          apiVersion: apiVersionOf(info),
          kind: info.kind,
          metadata: { resourceVersion: String(lastRevision) },
        },
      });
      scheduleBookmark();
    });
  };

  setImmediate(() => {
    ready = true;
    for (const event of pending.splice(0)) {
      if (closed) return;
      opts.onEvent(event);
    }
    scheduleBookmark();
  });

  return { close: stop };
}

function toWatchEvent(ev: IEvent, opts: OpenWatchOptions): WatchEvent<KubeObject> | undefined {
  const { matches, decode } = opts;
  if (ev.type === "Delete") {
    const prev = ev.prev_kv ? decode(ev.prev_kv) : undefined;
    return prev && (!matches || matches(prev))
      ? { type: "DELETED", object: opts.withVersion(prev, ev.kv.mod_revision) }
      : undefined;
  }
  const cur = decode(ev.kv);
  // Most watches select everything: then a previous value is all it takes to know the object was
  // there before, and only a selective watch decodes it to see whether it matched.
  const prevMatched = Boolean(ev.prev_kv) && (!matches || matches(decode(ev.prev_kv)));
  if (!matches || matches(cur)) return { type: prevMatched ? "MODIFIED" : "ADDED", object: cur };
  return prevMatched ? { type: "DELETED", object: cur } : undefined;
}
