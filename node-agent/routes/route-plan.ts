/**
 * Which pod routes a node needs: one per other node, to that node's podCIDR. A peer whose
 * InternalIP is on one of this host's links is routed straight via that address (host-gw); any
 * other peer goes through the VXLAN overlay (flannel's vxlan backend with DirectRouting is the
 * model). Also what to change in the kernel to get there from the routes the project owns now.
 * Pure functions; bad Node fields become problems naming the node and field path.
 */
import { formatCidr, parseCidr, parseIPv4 } from "../../foundation/util/ipv4.js";
import type { NodeAddress, NodeSpec, ObjectMeta } from "../../proto/gen/api.js";
import { type OverlayPeer, VXLAN_DEVICE, vtepAddress, vtepMac } from "./vxlan-plan.js";

export interface NodeInput {
  readonly metadata: Readonly<Pick<ObjectMeta, "name">>;
  readonly spec?: Readonly<Pick<NodeSpec, "podCIDR">>;
  readonly status?: { readonly addresses?: readonly Readonly<NodeAddress>[] };
}

/** Destination CIDR → what follows it in `ip route replace` (`via 192.168.1.2`). */
export type RouteTable = ReadonlyMap<string, string>;

/** This node as the overlay needs it: the VXLAN device's local address and its own VTEP. */
export interface OverlaySelf {
  underlayIP: string;
  podCIDR: string;
}

export interface RoutePlan {
  routes: Map<string, string>;
  /** Peers reached through the overlay; empty when every peer is on-link. */
  overlayPeers: OverlayPeer[];
  /** Set once this node has its own InternalIP and podCIDR. */
  self?: OverlaySelf;
  problems: string[];
}

function valid(parse: () => unknown): boolean {
  try {
    parse();
    return true;
  } catch {
    return false;
  }
}

/** The route to a peer reached through the overlay: via its VTEP, which the device holds on-link. */
export function overlayRoute(podCIDR: string): string {
  return `via ${vtepAddress(podCIDR)} dev ${VXLAN_DEVICE} onlink`;
}

/**
 * The routes `self` needs to reach every other node's pods. `onLink(ip)` says whether a peer's
 * InternalIP is on one of this host's links. Nodes without a podCIDR or InternalIP yet are skipped
 * silently (they are still registering), and so are off-link peers while this node itself has
 * neither (the overlay needs both ends); malformed ones, and a podCIDR claimed by two nodes (the
 * first by name keeps it), are problems.
 */
export function planRoutes(
  nodes: Iterable<NodeInput>,
  self: string,
  onLink: (ip: string) => boolean = () => true,
): RoutePlan {
  const routes = new Map<string, string>();
  const overlayPeers: OverlayPeer[] = [];
  const owner = new Map<string, string>();
  const problems: string[] = [];
  let selfOverlay: OverlaySelf | undefined;
  const peers: { name: string; dst: string; ip: string }[] = [];
  const sorted = [...nodes].sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
  for (const node of sorted) {
    const name = node.metadata.name ?? "";
    const cidr = node.spec?.podCIDR;
    const addresses = node.status?.addresses ?? [];
    const index = addresses.findIndex((a) => a.type === "InternalIP");
    if (cidr === undefined || cidr === "" || index < 0) continue;
    const ip = addresses[index]!.address ?? "";
    if (!valid(() => parseCidr(cidr))) {
      problems.push(`Node ${name}: spec.podCIDR: "${cidr}" is not an IPv4 CIDR`);
      continue;
    }
    if (!valid(() => parseIPv4(ip))) {
      problems.push(`Node ${name}: status.addresses[${index}].address: "${ip}" is not an IPv4 address`);
      continue;
    }
    const dst = formatCidr(parseCidr(cidr));
    const taken = owner.get(dst);
    if (taken !== undefined) {
      problems.push(`Node ${name}: spec.podCIDR: ${dst} is also the podCIDR of Node ${taken}`);
      continue;
    }
    owner.set(dst, name);
    if (name === self) selfOverlay = { underlayIP: ip, podCIDR: dst };
    else peers.push({ name, dst, ip });
  }
  for (const { dst, ip } of peers) {
    if (onLink(ip)) {
      routes.set(dst, `via ${ip}`);
    } else if (selfOverlay !== undefined) {
      routes.set(dst, overlayRoute(dst));
      overlayPeers.push({ vtep: vtepAddress(dst), mac: vtepMac(dst), underlayIP: ip });
    }
  }
  return { routes, overlayPeers, ...(selfOverlay ? { self: selfOverlay } : {}), problems };
}

/** `ip -batch` lines turning the `current` owned routes into `desired` ones, all marked `proto`. */
export function routeChanges(current: RouteTable, desired: RouteTable, proto: number): string[] {
  const lines: string[] = [];
  for (const [dst, via] of desired) {
    if (current.get(dst) !== via) lines.push(`route replace ${dst} ${via} proto ${proto}`);
  }
  for (const dst of current.keys()) if (!desired.has(dst)) lines.push(`route del ${dst} proto ${proto}`);
  return lines;
}
