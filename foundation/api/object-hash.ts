/**
 * The short, stable hashes that name what controllers make from a template: a Deployment's
 * ReplicaSets (`pod-template-hash`) and a DaemonSet's or StatefulSet's ControllerRevisions
 * (`controller-revision-hash`). As upstream: FNV-1a (32 bit) of the object serialized canonically
 * (sorted keys, empty and absent fields alike), then of the collision count (4 bytes, little
 * endian) when there is one, printed in decimal and mapped onto the vowel-free alphabet so it can
 * never spell a word. Names depend on it: it must not change across processes or releases.
 */

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

/** `value` serialized so equal contents compare equal whatever their key order or empty fields. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonical(value) ?? {});
}

function fnv1a(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/** The hash of `value` with `collisionCount` mixed in when above 0. */
export function objectHash(value: unknown, collisionCount = 0): string {
  let h = fnv1a(new TextEncoder().encode(canonicalJson(value)));
  if (collisionCount > 0) {
    const le = new Uint8Array(4);
    new DataView(le.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv1a(le, h);
  }
  let out = "";
  for (const digit of String(h)) out += safeAlphabet[digit.charCodeAt(0) % safeAlphabet.length];
  return out;
}
