/**
 * The control plane's client-go: how every component reads and follows API objects and how every
 * control loop runs. It owns informers (list + watch + read-only indexed cache, one `Informer`
 * interface), the shared informer factory, the deduplicating rate-limited work queue, the
 * controller runner with its metrics and the one way to start a controller, leader election over
 * etcd, and the helpers several controllers share (controller references, pod state). Controllers
 * write through the `ControllerClient` and report through the `EventRecorder` interfaces declared
 * here and implemented by the integrator (controlplane/wiring).
 *
 * It must never import the store, the registry, the apiserver or any controller: objects reach it
 * through a `ListerWatcher` or `ResourceSource` the caller provides. The store, scheduler,
 * controllers, DNS and NodeService import it, never the other way round.
 */

export {
  type DeepReadonly,
  deepFreeze,
  MalformedKeyError,
  type ObjectWithMeta,
  splitKey,
} from "../../foundation/api/readonly.js";
export { Controller, type ControllerOptions, type Syncable } from "./controller.js";
export type {
  ApiObject,
  ControllerClient,
  ControllerDeleteOptions,
  MergePatch,
} from "./controller-client.js";
export { type ControllerMetrics, controllerMetrics } from "./controller-metrics.js";
export { type ClaimParams, claimChildren } from "./controller-ref.js";
export {
  type ControllerDefinition,
  type ControllerRunDeps,
  type HandlerRegistration,
  handle,
  newRunner,
  requireIndex,
  type SerialControllerDeps,
  type StartedController,
  startController,
  startSerialController,
} from "./controller-start.js";
export type { EventRecorder, EventSubject, EventType } from "./events.js";
export { byNodeNameIndex, byOwnerUid, byOwnerUidIndex, podsByNodeName } from "./indexers.js";
export {
  type EventHandler,
  type Informer,
  type InformerOptions,
  ListWatchInformer,
} from "./informer.js";
export {
  InformerFactory,
  type InformerFactoryOptions,
  type ResourceSource,
  storeListerWatcher,
} from "./informer-factory.js";
export {
  defaultLeaderElectionPrefix,
  LeaderElectionConfigError,
  type LeaderElectionOptions,
  type LeaderElector,
  runUnelected,
  runWhenLeader,
} from "./leader-election.js";
export type { ListerWatcher, ListResult, WatchHandle } from "./lister-watcher.js";
export { type NodeGraphListers, type NodeRelationship, nodeRelationship } from "./node-graph.js";
export { type IndexFunc, type Lister, UnknownIndexError } from "./object-cache.js";
export { availableAt, isPodActive, isPodAvailable, isPodReady, readySince } from "./pod-state.js";
export {
  BucketRateLimiter,
  defaultControllerRateLimiter,
  ItemExponentialRateLimiter,
  MaxOfRateLimiter,
  type RateLimiter,
} from "./rate-limiter.js";
export { WorkQueue, type WorkQueueOptions } from "./work-queue.js";
