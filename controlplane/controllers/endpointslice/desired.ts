/**
 * Which endpoints a Service's EndpointSlices should hold, as a pure function of the Service and its
 * selected pods, after upstream's pkg/controller/endpointslice (podToEndpoint): every pod with an
 * IP that has not finished, terminating ones included, each with its conditions:
 *
 * - `serving`: the pod is Ready (or the Service publishes not-ready addresses);
 * - `terminating`: the pod's deletion has begun;
 * - `ready`: serving and not terminating (always true with publishNotReadyAddresses), so a client
 *   that only reads `ready` never sends new connections to a pod that is going away, and one that
 *   reads `serving` can still drain to it.
 *
 * Endpoints are grouped by the ports they resolved (one slice carries one port list), sorted.
 */
import type { DiscoveryEndpoint, DiscoveryEndpointPort, Pod, Service } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";
import { isPodReady } from "../../client/pod-state.js";
import { podEndpointFields, resolveTargetPort } from "../endpoints/subsets.js";

type ReadonlyPod = DeepReadonly<Pod>;

/** The endpoints sharing one port list. */
export interface EndpointGroup {
  ports: DiscoveryEndpointPort[];
  /** Sorted by address. */
  endpoints: DiscoveryEndpoint[];
}

/** A pod with an IPv4 address that has not finished; terminating ones stay, flagged. */
function isSliceCandidate(pod: ReadonlyPod): boolean {
  const phase = pod.status?.phase;
  const ip = pod.status?.podIP ?? "";
  return ip !== "" && !ip.includes(":") && phase !== "Succeeded" && phase !== "Failed";
}

function endpointOf(service: DeepReadonly<Service>, pod: ReadonlyPod): DiscoveryEndpoint {
  const publishNotReady = service.spec?.publishNotReadyAddresses ?? false;
  const serving = publishNotReady || (pod.status?.phase === "Running" && isPodReady(pod));
  const terminating = Boolean(pod.metadata.deletionTimestamp);
  return {
    addresses: [pod.status?.podIP ?? ""],
    conditions: { ready: publishNotReady || (serving && !terminating), serving, terminating },
    ...podEndpointFields(service, pod),
  };
}

function portsOf(service: DeepReadonly<Service>, pod: ReadonlyPod): DiscoveryEndpointPort[] {
  const ports: DiscoveryEndpointPort[] = [];
  for (const sp of service.spec?.ports ?? []) {
    const port = resolveTargetPort(sp, pod);
    if (port === undefined) continue;
    const p: DiscoveryEndpointPort = { port, protocol: sp.protocol ?? "TCP" };
    if (sp.name) p.name = sp.name;
    if (sp.appProtocol) p.appProtocol = sp.appProtocol;
    ports.push(p);
  }
  return ports.sort((a, b) => compare(portKey(a), portKey(b)));
}

/** The identity of a port list: slices are matched to groups by it. */
export function portsKey(ports: readonly DeepReadonly<DiscoveryEndpointPort>[]): string {
  return JSON.stringify([...ports].map(portKey).sort());
}

function portKey(p: DeepReadonly<DiscoveryEndpointPort>): string {
  return `${p.name ?? ""}/${p.port ?? ""}/${p.protocol ?? "TCP"}/${p.appProtocol ?? ""}`;
}

/**
 * The endpoint groups of `service` over `pods` (already selected by its selector), by ports key. A
 * Service with ports leaves out pods that resolve none of them, as the Endpoints controller does; a
 * portless headless Service has one portless group.
 */
export function endpointGroups(
  service: DeepReadonly<Service>,
  pods: readonly ReadonlyPod[],
): Map<string, EndpointGroup> {
  const hasPorts = (service.spec?.ports ?? []).length > 0;
  const groups = new Map<string, EndpointGroup>();
  for (const pod of pods) {
    if (!isSliceCandidate(pod)) continue;
    const ports = portsOf(service, pod);
    if (hasPorts && ports.length === 0) continue;
    const key = portsKey(ports);
    let group = groups.get(key);
    if (!group) {
      group = { ports, endpoints: [] };
      groups.set(key, group);
    }
    group.endpoints.push(endpointOf(service, pod));
  }
  for (const g of groups.values()) g.endpoints.sort(compareEndpoints);
  return groups;
}

/** An endpoint's identity across syncs: its address. */
export function endpointKey(e: DeepReadonly<DiscoveryEndpoint>): string {
  return e.addresses?.[0] ?? "";
}

export function compareEndpoints(
  a: DeepReadonly<DiscoveryEndpoint>,
  b: DeepReadonly<DiscoveryEndpoint>,
): number {
  return compare(endpointKey(a), endpointKey(b));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
