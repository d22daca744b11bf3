/**
 * The shape every stored object shares, whatever its kind, and the few helpers that only need that
 * shape. Kind-specific types come from proto/gen/api.ts.
 */

import type { ObjectMeta } from "../../proto/gen/api.js";

/** What every API kind shares; the generated kinds (Pod, ReplicaSet, ...) all satisfy it. */
export interface ApiObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/**
 * The largest stored object, checked by the store and by `kctl apply` before it sends one: etcd's default request limit (1.5 MiB) less room for the rest of the
 * request (its key, up to three times, and framing), so an object that passes this check is never
 * refused by etcd itself. Larger objects are refused with 413 before they reach etcd.
 */
export const maxObjectBytes = 1.5 * 1024 * 1024 - 4 * 1024;

/**
 * `fields` without its undefined entries: builds an object of optional fields from values that may
 * be missing, which strict optional property types refuse to hold as `undefined`.
 */
export function definedFields<T extends object>(fields: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) out[key] = value;
  return out as { [K in keyof T]?: Exclude<T[K], undefined> };
}

/** The work-queue and cache key: "namespace/name" for namespaced objects, "name" otherwise. */
export function objectKey(obj: {
  metadata: { readonly namespace?: string | undefined; readonly name?: string | undefined };
}): string {
  const { namespace, name } = obj.metadata;
  return namespace ? `${namespace}/${name ?? ""}` : (name ?? "");
}

/**
 * Sets `record[key]` as an ordinary own entry, even for the key "__proto__", which plain assignment
 * would treat as a prototype change. For maps whose keys come from users (data, labels).
 */
export function setEntry<V>(record: Record<string, V>, key: string, value: V): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}
