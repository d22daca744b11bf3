/**
 * Which LoadBalancer addresses this node announces: for each address in a LoadBalancer Service's
 * `status.loadBalancer.ingress`, exactly one node, chosen the same way by every agent from the
 * same objects, so no two hosts answer ARP for one address and no coordination is needed (MetalLB's
 * L2 mode elects the same way: a hash of node and address over the eligible nodes).
 *
 * Eligible: a node whose Ready condition is True and that is not labelled
 * `node.kubernetes.io/exclude-from-external-load-balancers`; with `externalTrafficPolicy: Local`
 * also one running a ready endpoint of the Service (the proxy drops outside traffic elsewhere). A
 * Service without any ready endpoint is not announced at all. A node that goes NotReady stops being
 * eligible, and the next one by hash takes its addresses over: that is the failover.
 *
 * Where hosts sit on several subnets, ARP for an address is heard only on its own subnet: each
 * agent labels its Node with the subnet of its InternalIP (`kctl.io/subnet: 10.1.2.0-24`, a label
 * value cannot hold "/"), and an address goes to an eligible node on a subnet holding it. When no
 * eligible node's subnet holds it (a pool routed to the hosts, or nodes without the label), every
 * eligible node stays a candidate, as on one segment.
 *
 * Services of another `loadBalancerClass` are that controller's to announce.
 */
import { createHash } from "node:crypto";
import { cidrContains, parseCidr, parseIPv4 } from "../../foundation/util/ipv4.js";
import type { NodeCondition, ObjectMeta } from "../../proto/gen/api.js";
import { type EndpointsInput, type ServiceInput, serviceKey } from "../proxy/inputs.js";

export const excludeLabel = "node.kubernetes.io/exclude-from-external-load-balancers";
/** The subnet of a node's InternalIP, set by its agent at registration. */
export const subnetLabel = "kctl.io/subnet";

/** The `kctl.io/subnet` value of a subnet: `10.1.2.0/24` → `10.1.2.0-24`. */
export function subnetLabelValue(cidr: string): string {
  return cidr.replace("/", "-");
}

/** Whether the node's subnet label names a subnet holding `ip`; false without a (valid) label. */
function onSubnet(node: NodeInput, ip: string): boolean {
  const value = node.metadata.labels?.[subnetLabel];
  if (value === undefined) return false;
  try {
    return cidrContains(parseCidr(value.replace("-", "/")), parseIPv4(ip));
  } catch {
    return false;
  }
}

export interface NodeInput {
  readonly metadata: Readonly<Pick<ObjectMeta, "name" | "labels">>;
  readonly status?: { readonly conditions?: readonly Readonly<NodeCondition>[] };
}

function isEligible(node: NodeInput): boolean {
  const ready = node.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
  return ready && node.metadata.labels?.[excludeLabel] === undefined;
}

/** The node of `candidates` that announces `ip`: the smallest hash of node and address. */
export function electAnnouncer(ip: string, candidates: Iterable<string>): string | undefined {
  let best: { node: string; rank: string } | undefined;
  for (const node of candidates) {
    const rank = createHash("sha256").update(`${node}#${ip}`).digest("hex");
    if (!best || rank < best.rank) best = { node, rank };
  }
  return best?.node;
}

/** The addresses `self` announces, each to the `namespace/name` of its Service. */
export function addressesToAnnounce(
  self: string,
  services: Iterable<ServiceInput>,
  endpoints: ReadonlyMap<string, EndpointsInput>,
  nodes: Iterable<NodeInput>,
): Map<string, string> {
  const eligible = new Map<string, NodeInput>();
  for (const n of nodes) if (isEligible(n) && n.metadata.name) eligible.set(n.metadata.name, n);
  const mine = new Map<string, string>();
  for (const svc of services) {
    if (svc.spec?.type !== "LoadBalancer" || svc.spec.loadBalancerClass) continue;
    const key = serviceKey(svc);
    const withEndpoints = new Set<string>();
    let ready = 0;
    for (const subset of endpoints.get(key)?.subsets ?? []) {
      for (const a of subset.addresses ?? []) {
        ready++;
        if (a.nodeName) withEndpoints.add(a.nodeName);
      }
    }
    if (ready === 0) continue;
    const local = svc.spec.externalTrafficPolicy === "Local";
    const candidates = [...eligible.keys()].filter((n) => !local || withEndpoints.has(n));
    for (const ingress of svc.status?.loadBalancer?.ingress ?? []) {
      const ip = ingress.ip;
      if (!ip || !/^\d+\.\d+\.\d+\.\d+$/.test(ip)) continue;
      const near = candidates.filter((n) => onSubnet(eligible.get(n)!, ip));
      if (electAnnouncer(ip, near.length > 0 ? near : candidates) === self) mine.set(ip, key);
    }
  }
  return mine;
}
