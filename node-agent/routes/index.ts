/**
 * Routes between hosts: every node keeps a route to every other node's podCIDR, via that node's
 * InternalIP when it is on one of this host's links (host-gw), else through a VXLAN overlay (one
 * kernel device, `kctl-vxlan`, with a neighbour and a forwarding entry per off-link peer), and IP
 * forwarding on. It owns only the routes marked with its protocol number (199 by default) and the
 * `kctl-vxlan` device in the namespace it is given, and must never read, change or delete any other.
 */
export { RouteError, type RouteErrorCode } from "./errors.js";
export { HostRoutes, type HostRoutesConfig, ROUTE_PROTO } from "./host-routes-linux.js";
export { podMtu } from "./pod-mtu-linux.js";
export type { NodeInput } from "./route-plan.js";
