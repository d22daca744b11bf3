/**
 * Controller machinery shared by every control loop and the scheduler: informers (list + watch +
 * read-only cache), the deduplicating rate-limited work queue, the controller runner with metrics,
 * and leader election over etcd. It owns no API semantics: objects reach it through a
 * `ListerWatcher` the caller provides, and it never writes objects back.
 */
export { Controller, type ControllerOptions, type Syncable } from "./controller.js";
export { type ControllerMetrics, controllerMetrics } from "./controller-metrics.js";
export { byNodeNameIndex, byOwnerUid, byOwnerUidIndex, podsByNodeName } from "./indexers.js";
export { type EventHandler, Informer, type InformerOptions } from "./informer.js";
export {
  defaultLeaderElectionPrefix,
  LeaderElectionConfigError,
  type LeaderElectionOptions,
  type LeaderElector,
  runUnelected,
  runWhenLeader,
} from "./leader-election.js";
export type { ListerWatcher, ListResult, WatchHandle } from "./lister-watcher.js";
export { type IndexFunc, type Lister, UnknownIndexError } from "./object-cache.js";
export {
  BucketRateLimiter,
  defaultControllerRateLimiter,
  ItemExponentialRateLimiter,
  MaxOfRateLimiter,
  type RateLimiter,
} from "./rate-limiter.js";
export {
  type DeepReadonly,
  deepFreeze,
  MalformedKeyError,
  type ObjectWithMeta,
  splitKey,
} from "./readonly.js";
export { WorkQueue, type WorkQueueOptions } from "./work-queue.js";
