/**
 * The registry: Kubernetes REST semantics over the store, called by the HTTP apiserver and directly
 * by in-process components. Owns decoding, server-set metadata, defaulting, validation, dry runs,
 * spec/status separation, generation, finalizers and graceful deletion, binding, scale and eviction. It must
 * never speak HTTP or touch etcd except through the store.
 */

export { evictPod, violationMessage } from "./eviction.js";
export type { PropagationPolicy } from "./lifecycle.js";
export { applyMergePatch, applyStrategicMergePatch } from "./merge-patch.js";
export {
  type AdmissionPlugin,
  type ApplyOptions,
  type CachedWriteOptions,
  type CreateOptions,
  type DeleteOptions,
  type DeleteResult,
  type ListOptions,
  type ObjectList,
  type PatchOptions,
  type PatchType,
  Registry,
  type RegistryOptions,
  systemNamespaces,
  type WatchHandle,
  type WatchOptions,
  type WriteOptions,
} from "./registry.js";
