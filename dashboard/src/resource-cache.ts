/**
 * A live copy of one resource's objects, kept the way the control plane's informers keep theirs:
 * list, then watch from the list's resourceVersion; when the stream ends or breaks, watch again
 * from the last resourceVersion seen (bookmarks included); when the server says that version is
 * gone (410, at the start or as an ERROR event), list again. Reconnects back off, capped.
 */
import { type ApiClient, ApiRequestError, type KubeObject, type WatchEvent } from "./api";
import { lineSplitter } from "./ndjson";

export interface ListWatchSource<T> {
  list(signal: AbortSignal): Promise<{ items: T[]; resourceVersion: string }>;
  /** Resolves when the server ends the stream; throws an ApiRequestError when it refuses it. */
  watch(resourceVersion: string, onEvent: (event: WatchEvent<T>) => void, signal: AbortSignal): Promise<void>;
}

export interface RetryPolicy {
  /** Delay before reconnect number `attempt` (0-based) after a failure. */
  delayMs(attempt: number): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

// 0.5 s, 1 s, 2 s ... capped at 30 s, as the informers' reconnects.
export const defaultRetry: RetryPolicy = {
  delayMs: (attempt) => Math.min(30_000, 500 * 2 ** attempt),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      signal.addEventListener("abort", wake);
    }),
};

class GoneError extends Error {}

function isGone(err: unknown): boolean {
  return err instanceof GoneError || (err instanceof ApiRequestError && err.status === 410);
}

export function keyOf(obj: KubeObject): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}

export interface CacheState<T> {
  items: readonly T[];
  synced: boolean;
  /** The last failure, until the next successful list or watch event. */
  error?: string;
  /** How many times the cache listed (1 after start; more after 410s). */
  lists: number;
}

export class ResourceCache<T extends KubeObject> {
  private readonly objects = new Map<string, T>();
  private resourceVersion = "";
  private readonly stopped = new AbortController();
  private state: Omit<CacheState<T>, "items"> = { synced: false, lists: 0 };
  private items: readonly T[] | undefined;

  /** `onChange` is called after every change; it should read `snapshot()` no more than it draws. */
  constructor(
    private readonly source: ListWatchSource<T>,
    private readonly onChange: () => void,
    private readonly retry: RetryPolicy = defaultRetry,
  ) {}

  start(): Promise<void> {
    return this.run();
  }

  stop(): void {
    this.stopped.abort();
  }

  /** The current objects and status; the array is made once per change, on first read. */
  snapshot(): CacheState<T> {
    this.items ??= [...this.objects.values()];
    return { ...this.state, items: this.items };
  }

  private emit(patch: Partial<Omit<CacheState<T>, "items">>): void {
    this.state = { ...this.state, ...patch };
    this.items = undefined;
    this.onChange();
  }

  private async run(): Promise<void> {
    const signal = this.stopped.signal;
    let mustList = true;
    let attempt = 0;
    while (!signal.aborted) {
      const watch = new AbortController();
      const stopWatch = () => watch.abort();
      signal.addEventListener("abort", stopWatch);
      try {
        if (mustList) {
          const list = await this.source.list(signal);
          this.objects.clear();
          for (const obj of list.items) this.objects.set(keyOf(obj), obj);
          this.resourceVersion = list.resourceVersion;
          mustList = false;
          this.emit({ synced: true, lists: this.state.lists + 1, error: undefined });
        }
        let failure: unknown;
        await this.source
          .watch(
            this.resourceVersion,
            (event) => {
              if (failure) return;
              try {
                this.apply(event);
                attempt = 0;
              } catch (err) {
                failure = err;
                watch.abort();
              }
            },
            watch.signal,
          )
          .catch((err: unknown) => {
            if (!failure) throw err;
          });
        if (failure) throw failure;
      } catch (err) {
        if (signal.aborted) return;
        if (isGone(err)) {
          mustList = true;
          continue;
        }
        this.emit({ error: err instanceof Error ? err.message : String(err) });
        await this.retry.sleep(this.retry.delayMs(attempt++), signal);
      } finally {
        signal.removeEventListener("abort", stopWatch);
      }
    }
  }

  private apply(event: WatchEvent<T>): void {
    if (event.type === "ERROR") {
      const status = event.object as unknown as { code?: number; message?: string };
      if (status.code === 410) throw new GoneError(status.message ?? "resourceVersion too old");
      throw new Error(`watch error: ${status.message ?? JSON.stringify(status)}`);
    }
    const rv = event.object.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (event.type === "BOOKMARK") return;
    if (event.type === "DELETED") this.objects.delete(keyOf(event.object));
    else this.objects.set(keyOf(event.object), event.object);
    this.emit({ error: undefined });
  }
}

/** A resource's list and watch over the API, at a collection path such as `/api/v1/pods`. */
export function apiSource<T extends KubeObject>(
  api: ApiClient,
  path: string,
  query = "",
): ListWatchSource<T> {
  const sep = (q: string) => (q ? `&${q}` : "");
  return {
    list: async (signal) => {
      const list = await api.get<{ items: T[]; metadata: { resourceVersion: string } }>(
        `${path}${query ? `?${query}` : ""}`,
        signal,
      );
      return { items: list.items, resourceVersion: list.metadata.resourceVersion };
    },
    watch: (rv, onEvent, signal) =>
      api.stream(
        `${path}?watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(rv)}${sep(query)}`,
        lineSplitter((line) => onEvent(JSON.parse(line) as WatchEvent<T>)),
        signal,
      ),
  };
}
