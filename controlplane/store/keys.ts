/**
 * etcd key layout of stored objects: `/registry/{plural}[.{group}]/{namespace}/{name}` for namespaced
 * kinds and `/registry/{plural}[.{group}]/{name}` for cluster-scoped ones. Every prefix ends in "/",
 * so the range of namespace "a" never includes namespace "ab".
 */
import { ApiError } from "../../foundation/api/errors.js";
import type { ResourceInfo } from "../../foundation/api/resources.js";

/** `/registry/pods/`, `/registry/deployments.apps/`: the prefix of every object of the resource. */
export function resourcePrefix(info: ResourceInfo): string {
  return `/registry/${info.group ? `${info.plural}.${info.group}` : info.plural}/`;
}

/** The prefix of a namespace's objects, or of all objects when `namespace` is empty or the kind is cluster-scoped. */
export function rangePrefix(info: ResourceInfo, namespace?: string): string {
  if (!info.namespaced || !namespace) return resourcePrefix(info);
  return `${resourcePrefix(info)}${checkSegment("namespace", namespace)}/`;
}

/** The key of one object. Throws `ApiError("BadRequest")` for a missing namespace or a name that cannot be a key. */
export function objectKeyPath(info: ResourceInfo, namespace: string | undefined, name: string): string {
  if (info.namespaced) {
    if (!namespace) throw new ApiError("BadRequest", `${info.kind} "${name}": a namespace is required`);
    return `${rangePrefix(info, namespace)}${checkSegment("name", name)}`;
  }
  return `${resourcePrefix(info)}${checkSegment("name", name)}`;
}

/** The first key after every key that starts with `prefix` (etcd's range_end for a prefix read). */
export function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

function checkSegment(what: string, value: string): string {
  if (value === "" || value.includes("/") || value === "." || value === "..") {
    throw new ApiError(
      "BadRequest",
      `invalid ${what} ${JSON.stringify(value)}: may not be empty, ".", ".." or contain "/"`,
    );
  }
  return value;
}
