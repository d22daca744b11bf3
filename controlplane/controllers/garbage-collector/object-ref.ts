/**
 * Work-queue keys that name an object of any kind (`replicasets.apps:default/web-5d8`, `nodes:n1`),
 * and the resolution of an ownerReference to the resource and key its owner would have. The
 * collector tracks every resource at once, so its keys carry the resource as well as the object.
 */

import { objectKey } from "../../../foundation/api/object.js";
import { type ResourceInfo, resourceForKind } from "../../../foundation/api/resources.js";
import type { OwnerReference } from "../../../proto/gen/api.js";
import { type DeepReadonly, splitKey } from "../../client/index.js";

/** `pods`, `replicasets.apps`: the resource part of a key (plural and group, like kubectl). */
export function resourceId(info: ResourceInfo): string {
  return info.group ? `${info.plural}.${info.group}` : info.plural;
}

export function gcKey(info: ResourceInfo, obj: { metadata: { namespace?: string; name?: string } }): string {
  return `${resourceId(info)}:${objectKey(obj)}`;
}

export class MalformedGcKeyError extends Error {
  constructor(key: string, why: string) {
    super(`garbage collector key "${key}": ${why}`);
    this.name = "MalformedGcKeyError";
  }
}

export interface ParsedKey {
  resource: string;
  /** The cache key: `namespace/name` or `name`. */
  objectKey: string;
  namespace: string;
  name: string;
}

export function parseGcKey(key: string): ParsedKey {
  const colon = key.indexOf(":");
  if (colon <= 0) throw new MalformedGcKeyError(key, 'want "<resource>:<namespace>/<name>"');
  const rest = key.slice(colon + 1);
  return { resource: key.slice(0, colon), objectKey: rest, ...splitKey(rest) };
}

export type OwnerLocation =
  | { kind: "found"; info: ResourceInfo; namespace: string; name: string; uid: string }
  /** A kind this cluster does not serve, or a reference missing its name or uid. */
  | { kind: "unresolvable"; why: string }
  /** A cluster-scoped dependent naming a namespaced owner: it can never have one. */
  | { kind: "invalidNamespace"; why: string };

/** Where the owner named by `ref` lives, seen from a dependent in `dependentNamespace` ("" if cluster-scoped). */
export function locateOwner(ref: DeepReadonly<OwnerReference>, dependentNamespace: string): OwnerLocation {
  const info = resourceForKind(ref.apiVersion ?? "", ref.kind ?? "");
  if (!info)
    return { kind: "unresolvable", why: `kind ${ref.kind} of apiVersion ${ref.apiVersion} is not served` };
  if (!ref.name || !ref.uid) return { kind: "unresolvable", why: "the reference has no name or no uid" };
  if (info.namespaced && !dependentNamespace) {
    return {
      kind: "invalidNamespace",
      why: `a cluster-scoped object cannot be owned by the namespaced ${ref.kind} ${ref.name}`,
    };
  }
  return {
    kind: "found",
    info,
    namespace: info.namespaced ? dependentNamespace : "",
    name: ref.name,
    uid: ref.uid,
  };
}
