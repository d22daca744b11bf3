/**
 * The authorization step of the request pipeline, after authentication: what a request asks to do
 * (upstream's authorizer.Attributes), the one decision an `Authorizer` makes about it, and the 403
 * `Status` in upstream's wording when the answer is no. It knows no policy; RBAC is one Authorizer
 * (rbac-authorizer.ts).
 */
import { ApiError } from "../../foundation/api/errors.js";
import type { ResourceRoute } from "./request-path.js";

/** Who is asking (the apiserver's `User`, by shape: this module sits below the server). */
export interface Identity {
  name: string;
  groups?: readonly string[];
}

/** Every authenticated user is in this group (upstream's `user.AllAuthenticated`). */
export const authenticatedGroup = "system:authenticated";
/** Members are allowed everything, before any policy is read (upstream's `system:masters`). */
export const mastersGroup = "system:masters";

export interface RequestAttributes {
  user: string;
  groups: readonly string[];
  /** Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection. */
  verb: string;
  /** Set for API resources; absent for non-resource paths such as /metrics. */
  resource?: { apiGroup: string; resource: string; subresource?: string; namespace?: string; name?: string };
  /** The request path, for non-resource requests. */
  path: string;
}

export interface Decision {
  allowed: boolean;
  /** Why not (appended to the 403 message), or why. */
  reason?: string;
}

export type Authorizer = (attrs: RequestAttributes) => Decision;

/**
 * Allows what any of `authorizers` allows, asked in order (upstream's union authorizer: the Node
 * authorizer, then RBAC); a refusal carries the first reason one of them gave.
 */
export function unionAuthorizer(...authorizers: Authorizer[]): Authorizer {
  return (attrs) => {
    let reason: string | undefined;
    for (const authorize of authorizers) {
      const decision = authorize(attrs);
      if (decision.allowed) return decision;
      reason ??= decision.reason;
    }
    return reason === undefined ? { allowed: false } : { allowed: false, reason };
  };
}

/** The Kubernetes verb of an HTTP request on a resource route. */
export function kubeVerb(method: string, route: ResourceRoute, watch: boolean): string {
  switch (method) {
    case "GET":
    case "HEAD":
      return route.name ? "get" : watch ? "watch" : "list";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return route.name ? "delete" : "deletecollection";
    default:
      return method.toLowerCase();
  }
}

/** The user's groups as authorizers see them: with `system:authenticated`, once. */
export function withAuthenticatedGroup(user: Identity): string[] {
  const groups = [...(user.groups ?? [])];
  if (!groups.includes(authenticatedGroup)) groups.push(authenticatedGroup);
  return groups;
}

/** The attributes of a request on an API resource. */
export function resourceAttributes(
  user: Identity,
  route: ResourceRoute,
  method: string,
  watch: boolean,
  path: string,
): RequestAttributes {
  return {
    user: user.name,
    groups: withAuthenticatedGroup(user),
    verb: kubeVerb(method, route, watch),
    resource: {
      apiGroup: route.info.group,
      resource: route.info.plural,
      ...(route.subresource ? { subresource: route.subresource } : {}),
      ...(route.namespace ? { namespace: route.namespace } : {}),
      ...(route.name ? { name: route.name } : {}),
    },
    path,
  };
}

/** The attributes of a request on any other path (discovery, /metrics). */
export function nonResourceAttributes(user: Identity, method: string, path: string): RequestAttributes {
  return {
    user: user.name,
    groups: withAuthenticatedGroup(user),
    verb: method === "HEAD" ? "get" : method.toLowerCase(),
    path,
  };
}

/**
 * The 403 upstream sends, word for word: `pods "web" is forbidden: User "jane" cannot get resource
 * "pods" in API group "" in the namespace "default"`, `deployments.apps is forbidden: ...`,
 * `... at the cluster scope`, or for a path
 * `forbidden: User "jane" cannot get path "/metrics"`; the authorizer's reason follows a colon.
 */
export function forbidden(attrs: RequestAttributes, reason?: string): ApiError {
  const why = reason ? `: ${reason}` : "";
  const r = attrs.resource;
  if (!r) {
    return new ApiError(
      "Forbidden",
      `forbidden: User "${attrs.user}" cannot ${attrs.verb} path "${attrs.path}"${why}`,
    );
  }
  const resource = r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
  const scope = r.namespace ? `in the namespace "${r.namespace}"` : "at the cluster scope";
  // The object part names the group-qualified resource (schema.GroupResource), without subresource.
  const groupResource = r.apiGroup ? `${r.resource}.${r.apiGroup}` : r.resource;
  const subject = r.name ? `${groupResource} "${r.name}"` : groupResource;
  return new ApiError(
    "Forbidden",
    `${subject} is forbidden: User "${attrs.user}" cannot ${attrs.verb} resource "${resource}" in API group "${r.apiGroup}" ${scope}${why}`,
    { ...(r.name ? { name: r.name } : {}), group: r.apiGroup, kind: r.resource },
  );
}

/** Throws the upstream 403 unless `authorize` allows the request. */
export function authorizeRequest(authorize: Authorizer, attrs: RequestAttributes): void {
  if (attrs.groups.includes(mastersGroup)) return;
  const decision = authorize(attrs);
  if (!decision.allowed) throw forbidden(attrs, decision.reason);
}
