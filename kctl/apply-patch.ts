/**
 * The patch `kctl apply` sends for an object that exists: a JSON merge patch (RFC 7386) computed
 * three ways, like kubectl's client-side apply for types without a strategic merge schema:
 * - fields the previous apply set (`original`, from the last-applied annotation) and the new
 *   manifest (`modified`) no longer has become null, so removals take effect;
 * - fields whose manifest value changed, or whose live value (`current`) drifted from the
 *   manifest, are set to the manifest's value;
 * - everything else in the live object (status, defaults, fields written by controllers) is left
 *   out of the patch and so survives.
 * Lists are replaced whole, as merge patch requires; a list is only sent when it changed in the
 * manifest or the live list no longer contains what the manifest asks for.
 */

export const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration";

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Structural equality of JSON values; key order does not matter. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && jsonEqual(a[k], b[k]));
  }
  return false;
}

/**
 * Whether the live value already holds everything the manifest value says: objects may have extra
 * (defaulted) keys, lists must match element by element, and a number equals its string form since
 * the server canonicalises quantities (`cpu: 1` is stored as "1").
 */
function covers(live: unknown, wanted: unknown): boolean {
  if (isObject(wanted)) return isObject(live) && Object.keys(wanted).every((k) => covers(live[k], wanted[k]));
  if (Array.isArray(wanted)) {
    return Array.isArray(live) && live.length === wanted.length && wanted.every((w, i) => covers(live[i], w));
  }
  if (typeof wanted === "number" && typeof live === "string") return String(wanted) === live;
  return live === wanted;
}

/**
 * The merge patch that takes `current` to what `modified` asks for, given that `original` was the
 * previous manifest (undefined when the object was never applied: then nothing is deleted). An
 * empty object means nothing to do.
 */
export function threeWayMergePatch(original: unknown, modified: JsonObject, current: unknown): JsonObject {
  const patch: JsonObject = {};
  const orig = isObject(original) ? original : undefined;
  const live = isObject(current) ? current : {};
  for (const [key, want] of Object.entries(modified)) {
    const had = orig?.[key];
    const now = live[key];
    if (isObject(want) && isObject(now)) {
      const sub = threeWayMergePatch(isObject(had) ? had : undefined, want, now);
      if (Object.keys(sub).length > 0) patch[key] = sub;
    } else if ((orig !== undefined && key in orig && !jsonEqual(had, want)) || !covers(now, want)) {
      patch[key] = want;
    }
  }
  for (const key of Object.keys(orig ?? {})) {
    if (!(key in modified) && key in live) patch[key] = null;
  }
  return patch;
}
