/**
 * The service proxy of a node: Services and their ready Endpoints become DNAT rules in one
 * nftables table (`ip kctl` by default) in the node's network namespace — ClusterIP and NodePort,
 * random choice over endpoints or ClientIP affinity, reject without endpoints, masquerade for
 * hairpin, NodePort and pod egress. It owns that table and nothing else: it must never touch
 * another table, chain or route, and never carry a packet itself. Beside it, the health check
 * server answers on the healthCheckNodePort of each Local-policy LoadBalancer.
 */
export { ProxyError, type ProxyErrorCode } from "./errors.js";
export { HealthCheckServer, type HealthCheckServerConfig } from "./health-check-server.js";
export type { EndpointsInput, ServiceInput } from "./inputs.js";
export { ServiceProxy, type ServiceProxyConfig, type SyncReport } from "./service-proxy.js";
