/** The watch event shape shared by the store, the apiserver's `?watch=true` stream and informers. */

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

/** For ERROR events `object` is a `Status`; for BOOKMARK only `metadata.resourceVersion` is meaningful. */
export interface WatchEvent<T> {
  type: WatchEventType;
  object: T;
}
