/**
 * What an informer needs from the API: a consistent list and a watch from a resourceVersion. The
 * integrator implements it over the registry (in-process) or the HTTP apiserver; keep it this small.
 */
import type { WatchEvent } from "../../foundation/api/watch.js";

export interface ListResult<T> {
  items: T[];
  /** The revision the list was read at; the informer watches from here. */
  resourceVersion: string;
}

export interface WatchHandle {
  /** Stops the stream; no callback fires after it returns. */
  close(): void;
}

export interface ListerWatcher<T> {
  list(): Promise<ListResult<T>>;
  /**
   * Streams changes after `resourceVersion`. The stream ending for any reason, including a clean
   * close by the server, must be reported once through `onError`; an `ApiError` with reason "Gone"
   * (or an ERROR event carrying a 410 Status) means the revision was compacted and the informer relists.
   * The handle may come as a promise (as the store's watch returns it); a rejection counts as the
   * stream failing.
   */
  watch(
    resourceVersion: string,
    onEvent: (event: WatchEvent<T>) => void,
    onError: (err: Error) => void,
  ): WatchHandle | Promise<WatchHandle>;
}
