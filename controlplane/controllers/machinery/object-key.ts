/**
 * Cache keys and read-only views of API objects. A key is `namespace/name` for namespaced objects and
 * `name` for cluster-scoped ones (client-go's MetaNamespaceKeyFunc), so work queues and listers agree.
 */

/** The part of an API object the machinery relies on; every generated kind satisfies it. */
export interface ObjectWithMeta {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
  };
}

/** A type whose every nested field is read-only: what caches hand out, so nobody edits shared state. */
export type DeepReadonly<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends readonly (infer U)[]
    ? ReadonlyArray<DeepReadonly<U>>
    : T extends object
      ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
      : T;

export class ObjectKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ObjectKeyError";
  }
}

/** `namespace/name`, or `name` when the object has no namespace. Throws when the name is missing. */
export function objectKey(obj: DeepReadonly<ObjectWithMeta>): string {
  const name = obj.metadata?.name;
  if (!name) throw new ObjectKeyError("object has no metadata.name, so it cannot be keyed");
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${name}` : name;
}

/** Splits a key made by `objectKey`; `namespace` is "" for cluster-scoped keys. */
export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf("/");
  if (slash < 0) return { namespace: "", name: key };
  if (slash === 0 || slash === key.length - 1 || key.indexOf("/", slash + 1) >= 0) {
    throw new ObjectKeyError(`malformed key "${key}": want "namespace/name" or "name"`);
  }
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/**
 * Freezes `obj` and everything reachable from it, so a mutation through a cached object throws (in
 * strict-mode modules) instead of silently corrupting the cache. Returns the same object, re-typed.
 */
export function deepFreeze<T>(obj: T): DeepReadonly<T> {
  if (obj !== null && typeof obj === "object" && !Object.isFrozen(obj)) {
    Object.freeze(obj);
    for (const value of Object.values(obj)) deepFreeze(value);
  }
  return obj as DeepReadonly<T>;
}
