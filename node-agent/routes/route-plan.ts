/**
 * Which pod routes a node needs (host-gw): one per other node, to that node's podCIDR via its
 * InternalIP, and what to change in the kernel to get there from the routes the project owns now.
 * Pure functions; bad Node fields become problems naming the node and field path.
 */

import { formatCidr, parseCidr, parseIPv4 } from "../../foundation/util/ipv4.js";
import type { NodeAddress, NodeSpec, ObjectMeta } from "../../proto/gen/api.js";

export interface NodeInput {
  readonly metadata: Readonly<Pick<ObjectMeta, "name">>;
  readonly spec?: Readonly<Pick<NodeSpec, "podCIDR">>;
  readonly status?: { readonly addresses?: readonly Readonly<NodeAddress>[] };
}

/** Destination CIDR → gateway address. */
export type RouteTable = ReadonlyMap<string, string>;

export interface RoutePlan {
  routes: Map<string, string>;
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

/**
 * The routes `self` needs to reach every other node's pods. Nodes without a podCIDR or InternalIP
 * yet are skipped silently (they are still registering); malformed ones, and a podCIDR claimed by
 * two nodes (the first by name keeps it), are problems.
 */
export function planRoutes(nodes: Iterable<NodeInput>, self: string): RoutePlan {
  const routes = new Map<string, string>();
  const owner = new Map<string, string>();
  const problems: string[] = [];
  const sorted = [...nodes].sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
  for (const node of sorted) {
    const name = node.metadata.name ?? "";
    if (name === self) continue;
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
    routes.set(dst, ip);
  }
  return { routes, problems };
}

/** `ip -batch` lines turning the `current` owned routes into `desired` ones, all marked `proto`. */
export function routeChanges(current: RouteTable, desired: RouteTable, proto: number): string[] {
  const lines: string[] = [];
  for (const [dst, via] of desired) {
    if (current.get(dst) !== via) lines.push(`route replace ${dst} via ${via} proto ${proto}`);
  }
  for (const dst of current.keys()) if (!desired.has(dst)) lines.push(`route del ${dst} proto ${proto}`);
  return lines;
}
