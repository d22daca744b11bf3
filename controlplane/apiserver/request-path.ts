/**
 * Maps a Kubernetes URL path onto what it names: a discovery document, a health or metrics endpoint,
 * or a resource (collection or object, optional namespace and subresource). Paths that name nothing
 * served here are NotFound, with the path in the message.
 */
import { ApiError } from "../../foundation/api/errors.js";
import { type ResourceInfo, resources } from "../../foundation/api/resources.js";

export type Route =
  | { kind: "root" | "apis" | "api" | "version" | "healthz" | "readyz" | "livez" | "metrics" }
  | { kind: "openapi-v2" | "openapi-v3" }
  | { kind: "openapi-v3-doc"; path: string }
  | { kind: "group"; group: string }
  | { kind: "resource-list"; group: string; version: string }
  | { kind: "resource"; route: ResourceRoute };

export interface ResourceRoute {
  info: ResourceInfo;
  /** Set for namespaced paths; absent for cluster-scoped kinds and for lists across namespaces. */
  namespace?: string;
  /** Absent for collections. */
  name?: string;
  subresource?: string;
}

const simple: Record<string, Route["kind"]> = {
  "/": "root",
  "/api": "api",
  "/apis": "apis",
  "/version": "version",
  "/healthz": "healthz",
  "/readyz": "readyz",
  "/livez": "livez",
  "/metrics": "metrics",
  "/openapi/v2": "openapi-v2",
  "/openapi/v3": "openapi-v3",
};

/** Groups served, with their single version, "" being the core group at /api/v1. */
export function servedGroups(): Map<string, string> {
  const groups = new Map<string, string>();
  for (const info of resources) groups.set(info.group, info.version);
  return groups;
}

export function parsePath(pathname: string): Route {
  const trimmed = pathname.length > 1 ? pathname.replace(/\/+$/, "") : pathname;
  const kind = simple[trimmed];
  if (kind) return { kind } as Route;
  if (trimmed.startsWith("/healthz/") || trimmed.startsWith("/readyz/") || trimmed.startsWith("/livez/")) {
    return { kind: trimmed.split("/")[1] as "healthz" | "readyz" | "livez" };
  }
  if (trimmed.startsWith("/openapi/v3/"))
    return { kind: "openapi-v3-doc", path: trimmed.slice("/openapi/v3/".length) };
  const parts = trimmed.split("/").slice(1).map(decodeSegment);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === "api") {
    [group, version, rest] = ["", parts[1]!, parts.slice(2)];
  } else if (parts[0] === "apis" && parts.length >= 2) {
    if (parts.length === 2) {
      if (!servedGroups().has(parts[1]!) || parts[1] === "") throw notServed(pathname);
      return { kind: "group", group: parts[1]! };
    }
    [group, version, rest] = [parts[1]!, parts[2]!, parts.slice(3)];
  } else {
    throw notServed(pathname);
  }
  if (servedGroups().get(group) !== version) throw notServed(pathname);
  if (rest.length === 0) return { kind: "resource-list", group, version };
  return { kind: "resource", route: resourceRoute(group, rest, pathname) };
}

function resourceRoute(group: string, rest: string[], pathname: string): ResourceRoute {
  const find = (plural: string): ResourceInfo | undefined =>
    resources.find((r) => r.group === group && r.plural === plural);
  // /namespaces/{ns}/{plural}[/{name}[/{sub}]], unless it is the Namespace object itself (/namespaces/{name}[/{sub}]).
  if (rest[0] === "namespaces" && rest.length >= 3 && !(group === "" && isNamespaceSub(rest))) {
    const info = find(rest[2]!);
    if (!info?.namespaced || rest.length > 5) throw notServed(pathname);
    return build(info, rest[1], rest[3], rest[4], pathname);
  }
  const info = find(rest[0]!);
  if (!info || rest.length > 3) throw notServed(pathname);
  if (info.namespaced && rest.length > 1) throw notServed(pathname);
  return build(info, undefined, rest[1], rest[2], pathname);
}

function isNamespaceSub(rest: string[]): boolean {
  return rest.length === 3 && (rest[2] === "status" || rest[2] === "finalize");
}

function build(
  info: ResourceInfo,
  namespace: string | undefined,
  name: string | undefined,
  subresource: string | undefined,
  pathname: string,
): ResourceRoute {
  if (subresource !== undefined && !(info.subresources as readonly string[]).includes(subresource)) {
    throw notServed(pathname);
  }
  const route: ResourceRoute = { info };
  if (namespace !== undefined) route.namespace = namespace;
  if (name !== undefined) route.name = name;
  if (subresource !== undefined) route.subresource = subresource;
  return route;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ApiError("BadRequest", `malformed URL path segment ${JSON.stringify(segment)}`);
  }
}

function notServed(pathname: string): ApiError {
  return new ApiError("NotFound", `the server could not find the requested resource (path ${pathname})`);
}
