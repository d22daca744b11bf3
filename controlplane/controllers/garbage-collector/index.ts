/**
 * The garbage collector: cascading deletion through ownerReferences (`kctl delete
 * --cascade=background|foreground|orphan`). It owns the `orphan` and `foregroundDeletion`
 * finalizers the Registry records for those policies, and the deletion of objects whose owners are
 * gone. It never creates objects and never deletes one that still has a live owner.
 */
export { GarbageCollector, type GarbageCollectorOptions, type TrackedResource } from "./garbage-collector.js";
export { gcKey, MalformedGcKeyError, parseGcKey, resourceId } from "./object-ref.js";
export { type GarbageCollectorDeps, startGarbageCollector } from "./start.js";
