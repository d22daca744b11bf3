/**
 * The `pod-template-hash`: a short, stable name for a pod template, used as the suffix of a
 * Deployment's ReplicaSet names (`web-7d9c5b8f4`) and as a label that keeps the ReplicaSets'
 * selectors apart: the object hash (client/object-hash.ts) of the template without that label.
 */
import type { PodTemplateSpec } from "../../../proto/gen/api.js";
import { canonicalJson, objectHash } from "../../api/object-hash.js";
import type { DeepReadonly } from "../../api/readonly.js";

export const podTemplateHashLabel = "pod-template-hash";

/**
 * The hash of `template` (its labels may already carry a pod-template-hash; it is ignored), with
 * `collisionCount` mixed in when set. Stable across processes and releases: names depend on it.
 */
export function computeHash(
  template: DeepReadonly<PodTemplateSpec> | undefined,
  collisionCount?: number,
): string {
  return objectHash(withoutHash(template), collisionCount ?? 0);
}

/** A copy of `template` without the pod-template-hash label. */
export function withoutHash(template: DeepReadonly<PodTemplateSpec> | undefined): PodTemplateSpec {
  const copy = structuredClone(template ?? {}) as PodTemplateSpec;
  if (copy.metadata?.labels) delete copy.metadata.labels[podTemplateHashLabel];
  return copy;
}

/** True when the templates differ at most in their pod-template-hash labels (Kubernetes' EqualIgnoreHash). */
export function equalIgnoreHash(
  a: DeepReadonly<PodTemplateSpec> | undefined,
  b: DeepReadonly<PodTemplateSpec> | undefined,
): boolean {
  return canonicalJson(withoutHash(a)) === canonicalJson(withoutHash(b));
}
