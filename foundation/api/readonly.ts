/**
 * Read-only views of cached API objects and work-queue key parsing. Caches hand out frozen objects
 * typed `DeepReadonly`, so nobody edits shared state; keys are made by `objectKey` (foundation/api/object.ts).
 */
import type { ObjectMeta } from "../../proto/gen/api.js";

/** The part of an API object the machinery relies on; every generated kind satisfies it. */
export interface ObjectWithMeta {
  metadata: Pick<ObjectMeta, "name" | "namespace" | "resourceVersion">;
}

/** A type whose every nested field is read-only: what caches hand out. */
export type DeepReadonly<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends readonly (infer U)[]
    ? ReadonlyArray<DeepReadonly<U>>
    : T extends object
      ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
      : T;

export class MalformedKeyError extends Error {
  constructor(key: string) {
    super(`malformed key "${key}": want "namespace/name" or "name"`);
    this.name = "MalformedKeyError";
  }
}

/** Splits a key made by `objectKey`; `namespace` is "" for cluster-scoped keys. */
export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf("/");
  if (slash < 0) {
    if (!key) throw new MalformedKeyError(key);
    return { namespace: "", name: key };
  }
  if (slash === 0 || slash === key.length - 1 || key.indexOf("/", slash + 1) >= 0) {
    throw new MalformedKeyError(key);
  }
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/**
 * Freezes `obj` and everything reachable from it, so a write through a cached object throws (ESM is
 * strict mode) instead of silently corrupting the cache. Returns the same object, re-typed.
 */
export function deepFreeze<T>(obj: T): DeepReadonly<T> {
  if (obj !== null && typeof obj === "object" && !Object.isFrozen(obj)) {
    Object.freeze(obj);
    for (const value of Object.values(obj)) deepFreeze(value);
  }
  return obj as DeepReadonly<T>;
}
