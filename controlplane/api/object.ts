/**
 * The shape every stored object shares, whatever its kind, and the few helpers that only need that
 * shape. Kind-specific types come from proto/gen/api.ts.
 */

import type { ObjectMeta } from "../../proto/gen/api.js";

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** The work-queue and cache key: "namespace/name" for namespaced objects, "name" otherwise. */
export function objectKey(obj: { metadata: Pick<ObjectMeta, "namespace" | "name"> }): string {
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
