/**
 * Patch documents: JSON merge patch (RFC 7386) and the subset of Kubernetes' strategic merge patch
 * that kubectl sends (`label`, `annotate`, `scale`, `set image`, `edit`, `apply`). Strategic patches
 * merge lists of objects by their Kubernetes merge key (containers by name, ports by containerPort
 * or port, ...) instead of replacing them, and honour `$patch: delete|replace|merge`,
 * `$setElementOrder/...`, `$retainKeys` and `$deleteFromPrimitiveList/...`. Other directives are
 * refused rather than half-applied.
 */
import { ApiError } from "../../foundation/api/errors.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/** RFC 7386: objects merge recursively, `null` removes a field, anything else replaces. Inputs are not changed. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = applyMergePatch(out[key], value) as Json;
  }
  return out;
}

/** List fields whose items merge by a key, and the candidate keys in order of preference. */
const mergeKeys: Record<string, readonly string[]> = {
  containers: ["name"],
  initContainers: ["name"],
  volumes: ["name"],
  env: ["name"],
  envFrom: [],
  volumeMounts: ["mountPath"],
  ports: ["containerPort", "port"],
  imagePullSecrets: ["name"],
  conditions: ["type"],
  containerStatuses: ["name"],
  ownerReferences: ["uid"],
};

/**
 * Applies a strategic merge patch as described in the module comment. Throws `ApiError("BadRequest")`
 * naming the path of an unsupported directive.
 */
export function applyStrategicMergePatch(target: unknown, patch: unknown, path = ""): unknown {
  if (!isObject(patch)) return patch;
  if (patch.$patch === "replace") {
    const { $patch: _, ...rest } = patch;
    return stripDirectives(rest, path);
  }
  if (patch.$patch !== undefined && patch.$patch !== "merge") {
    throw unsupported(`${path}.$patch`, `value ${JSON.stringify(patch.$patch)}`);
  }
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    const at = path ? `${path}.${key}` : key;
    if (key === "$patch" || key.startsWith("$setElementOrder/") || key === "$retainKeys") continue;
    if (key.startsWith("$deleteFromPrimitiveList/")) {
      const field = key.slice("$deleteFromPrimitiveList/".length);
      const remove = Array.isArray(value) ? value : [];
      const list = out[field];
      if (Array.isArray(list)) out[field] = list.filter((v) => !remove.includes(v));
      continue;
    }
    if (key.startsWith("$")) throw unsupported(at, "directive");
    if (value === null) delete out[key];
    else if (Array.isArray(value)) out[key] = mergeList(out[key], value, key, at);
    else out[key] = applyStrategicMergePatch(out[key], value, at) as Json;
  }
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith("$setElementOrder/")) continue;
    const field = key.slice("$setElementOrder/".length);
    if (Array.isArray(order) && Array.isArray(out[field]))
      out[field] = setElementOrder(out[field], order, field);
  }
  if (patch.$retainKeys !== undefined) {
    if (!Array.isArray(patch.$retainKeys)) throw unsupported(`${path}.$retainKeys`, "non-list value");
    const keep = new Set(patch.$retainKeys);
    for (const key of Object.keys(out)) if (!keep.has(key)) delete out[key];
  }
  return out;
}

/**
 * `$setElementOrder/field`: the list's items in the order the patch's client has them (by merge key
 * for lists of objects, by value for primitives); items the order does not name (added by others)
 * follow in their current order.
 */
function setElementOrder(list: Json[], order: Json[], field: string): Json[] {
  const key = (mergeKeys[field] ?? []).find((k) => order.every((o) => isObject(o) && k in o));
  const id = (item: Json): string => JSON.stringify(key && isObject(item) ? item[key] : item);
  const rank = new Map(order.map((o, i) => [id(o), i]));
  const named = list.filter((item) => rank.has(id(item))).sort((a, b) => rank.get(id(a))! - rank.get(id(b))!);
  return [...named, ...list.filter((item) => !rank.has(id(item)))];
}

function mergeList(target: Json | undefined, patch: Json[], field: string, path: string): Json {
  const mergeKey = (mergeKeys[field] ?? []).find((k) => patch.every((item) => isObject(item) && k in item));
  if (!mergeKey || !Array.isArray(target))
    return patch.map((item, i) => stripDirectives(item, `${path}[${i}]`));
  const out = [...target];
  for (const [i, item] of patch.entries()) {
    const entry = item as JsonObject;
    const at = out.findIndex((t) => isObject(t) && t[mergeKey] === entry[mergeKey]);
    if (entry.$patch === "delete") {
      if (at >= 0) out.splice(at, 1);
    } else if (at >= 0) {
      out[at] = applyStrategicMergePatch(out[at], entry, `${path}[${i}]`) as Json;
    } else {
      out.push(stripDirectives(entry, `${path}[${i}]`));
    }
  }
  return out;
}

function stripDirectives(value: Json, path: string): Json {
  return applyStrategicMergePatch(undefined, value, path) as Json;
}

function unsupported(path: string, what: string): ApiError {
  return new ApiError(
    "BadRequest",
    `strategic merge patch: unsupported ${what} at ${path}; send a JSON merge patch (application/merge-patch+json, kubectl --type=merge) instead`,
  );
}
