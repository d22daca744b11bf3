/**
 * API groups served by a handler of their own rather than by the registry (upstream's aggregation
 * layer, where an APIService sends a group/version to metrics-server): the handler owns its
 * resources' storage and answers their requests; the apiserver authenticates, authorizes with the
 * same RBAC attributes as for its own resources, and lists the group in discovery.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError } from "../../foundation/api/errors.js";

export interface AggregatedResource {
  name: string;
  singularName: string;
  kind: string;
  namespaced: boolean;
  verbs: readonly string[];
  shortNames?: readonly string[];
}

export interface AggregatedRoute {
  resource: string;
  /** Set for namespaced paths; absent for cluster-scoped resources and lists across namespaces. */
  namespace?: string;
  name?: string;
}

export interface AggregatedApi {
  group: string;
  version: string;
  resources: readonly AggregatedResource[];
  /**
   * Answers one authorized request on one of `resources` (only with a verb the resource lists);
   * what it throws becomes a Status.
   */
  serve(
    route: AggregatedRoute,
    req: IncomingMessage,
    res: ServerResponse,
    query: URLSearchParams,
  ): Promise<void>;
}

export type AggregatedMatch =
  | { kind: "group"; api: AggregatedApi }
  | { kind: "resource-list"; api: AggregatedApi }
  | { kind: "resource"; api: AggregatedApi; route: AggregatedRoute };

const notServed = (pathname: string) =>
  new ApiError("NotFound", `the server could not find the requested resource (path ${pathname})`);

/**
 * The aggregated API a path under /apis names, or undefined when it names none of `apis` (the
 * registry's groups are then tried). A path inside an aggregated group/version that names no
 * resource of it is NotFound.
 */
export function matchAggregated(
  pathname: string,
  apis: readonly AggregatedApi[],
): AggregatedMatch | undefined {
  const parts = pathname.replace(/\/+$/, "").split("/").slice(1);
  if (parts[0] !== "apis" || parts.length < 2) return undefined;
  const inGroup = apis.filter((a) => a.group === parts[1]);
  if (inGroup.length === 0) return undefined;
  if (parts.length === 2) return { kind: "group", api: inGroup[0]! };
  const api = inGroup.find((a) => a.version === parts[2]);
  if (!api) return undefined;
  const rest = parts.slice(3).map((s) => decodeURIComponent(s));
  if (rest.length === 0) return { kind: "resource-list", api };
  const find = (name: string) => api.resources.find((r) => r.name === name);
  if (rest[0] === "namespaces" && rest.length >= 3 && rest.length <= 4) {
    const info = find(rest[2]!);
    if (!info?.namespaced) throw notServed(pathname);
    return {
      kind: "resource",
      api,
      route: { resource: info.name, namespace: rest[1]!, ...(rest[3] ? { name: rest[3] } : {}) },
    };
  }
  const info = find(rest[0]!);
  if (!info || rest.length > 2 || (info.namespaced && rest.length > 1)) throw notServed(pathname);
  return { kind: "resource", api, route: { resource: info.name, ...(rest[1] ? { name: rest[1] } : {}) } };
}

export function aggregatedResourceList(api: AggregatedApi): object {
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: `${api.group}/${api.version}`,
    resources: api.resources.map((r) => ({
      name: r.name,
      singularName: r.singularName,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames?.length ? { shortNames: r.shortNames } : {}),
    })),
  };
}
