/**
 * The store: typed API objects in etcd, the cluster's only state. Owns the key layout, JSON values,
 * optimistic concurrency (resourceVersion = etcd mod_revision), selectors on reads and watches, and
 * etcd latency metrics. It must never apply API policy (defaults, validation, finalizers): callers
 * go through controlplane/registry for that.
 */
export {
  type FieldRequirement,
  type FieldSelector,
  matchesFieldSelector,
  parseFieldSelector,
  selectableFields,
} from "./field-selector.js";
export { objectKeyPath, rangePrefix, resourcePrefix } from "./keys.js";
export {
  checkObjectSize,
  checkPreconditions,
  type Preconditions,
  type Selection,
  Store,
  type StoreList,
  type StoreOptions,
  type StoreWatchOptions,
  type UpdateFn,
  type WatchHandle,
} from "./store.js";
