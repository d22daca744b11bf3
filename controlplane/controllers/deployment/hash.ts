/**
 * The `pod-template-hash`: a short, stable name for a pod template, used as the suffix of a
 * Deployment's ReplicaSet names (`web-7d9c5b8f4`) and as a label that keeps the ReplicaSets'
 * selectors apart. Like Kubernetes: FNV-1a (32 bit) of the template, then of the collision count
 * (4 bytes, little endian) when there is one, printed in decimal and mapped onto the vowel-free
 * alphabet so it can never spell a word. The template is serialized canonically (sorted keys,
 * empty and absent fields alike) so equal templates hash equally whatever their key order.
 */
import type { PodTemplateSpec } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";

export const podTemplateHashLabel = "pod-template-hash";

const safeAlphabet = "bcdfghjklmnpqrstvwxz2456789";

/** A copy of `value` without undefined, null, empty objects and empty arrays, keys sorted. */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(canonical);
    return items.length > 0 ? items : undefined;
  }
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = canonical((value as Record<string, unknown>)[key]);
      if (v !== undefined) out[key] = v;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  return value === null ? undefined : value;
}

function fnv1a(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/**
 * The hash of `template` (its labels may already carry a pod-template-hash; it is ignored), with
 * `collisionCount` mixed in when set. Stable across processes and releases: names depend on it.
 */
export function computeHash(
  template: DeepReadonly<PodTemplateSpec> | undefined,
  collisionCount?: number,
): string {
  const json = JSON.stringify(canonical(withoutHash(template)) ?? {});
  let h = fnv1a(new TextEncoder().encode(json));
  if (collisionCount !== undefined && collisionCount > 0) {
    const le = new Uint8Array(4);
    new DataView(le.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv1a(le, h);
  }
  let out = "";
  for (const digit of String(h)) out += safeAlphabet[digit.charCodeAt(0) % safeAlphabet.length];
  return out;
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
  return JSON.stringify(canonical(withoutHash(a))) === JSON.stringify(canonical(withoutHash(b)));
}
