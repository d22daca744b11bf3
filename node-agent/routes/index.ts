/**
 * Routes between hosts (host-gw): every node keeps a route to every other node's podCIDR via that
 * node's InternalIP, and IP forwarding on. It owns only the routes marked with its protocol number
 * (199 by default) in the namespace it is given, and must never read, change or delete any other.
 */
export { RouteError, type RouteErrorCode } from "./errors.js";
export { HostRoutes, type HostRoutesConfig, ROUTE_PROTO } from "./host-routes-linux.js";
export type { NodeInput } from "./route-plan.js";
