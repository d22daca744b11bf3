/**
 * The objects the proxy and the route keeper consume: the parts of the Kubernetes-shaped Service,
 * Endpoints and Node (proto/gen/api.ts) they read, as structural types, so the agent passes the
 * objects of its mirrors unchanged and unit tests build literals.
 */
import type { EndpointSubset, ObjectMeta, ServiceSpec, ServiceStatus } from "../../proto/gen/api.js";

export interface ServiceInput {
  readonly metadata: Readonly<Pick<ObjectMeta, "name" | "namespace">>;
  readonly spec?: Readonly<ServiceSpec>;
  /** Read for a LoadBalancer's addresses. */
  readonly status?: Readonly<ServiceStatus>;
}

export interface EndpointsInput {
  readonly metadata: Readonly<Pick<ObjectMeta, "name" | "namespace">>;
  readonly subsets?: readonly Readonly<EndpointSubset>[];
}

/** `namespace/name`, the key that pairs a Service with its Endpoints. */
export function serviceKey(obj: {
  readonly metadata: Readonly<Pick<ObjectMeta, "name" | "namespace">>;
}): string {
  return `${obj.metadata.namespace ?? "default"}/${obj.metadata.name ?? ""}`;
}
