/**
 * The lab's network: a lab namespace with a bridge per subnet holding that subnet's gateway, one
 * host namespace per node joined to its subnet's bridge by a veth, and a point-to-point veth from
 * the root namespace into the lab namespace so `kctl` can reach the control plane. Nothing here
 * gives the lab a way out: the lab namespace has no default route and forwards only between its
 * subnets (with one subnet, not at all), the hosts' default route ends at their gateway, and the
 * root namespace learns one /32 route, to the first gateway only.
 */
import { readdir } from "node:fs/promises";
import {
  bridgePortName,
  HOST_LINK,
  hostNamespace,
  LAB_UPLINK,
  type LabAddresses,
  labBridge,
  labNamespace,
  nodeAddress,
  nodeSubnet,
  rootVethName,
  subnetGateway,
} from "./lab-names.js";
import { mustRun, runCommand } from "./run-command.js";

export const NETNS_DIR = "/run/netns";

function ipIn(ns: string, ...args: string[]): string[] {
  return ["ip", "-n", ns, ...args];
}

/** Sets a sysctl as seen from namespace `ns` (net.* sysctls are per namespace). */
async function sysctlIn(ns: string, key: string, value: string): Promise<void> {
  await mustRun(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", `${key}=${value}`]);
}

/** The named network namespaces that exist now. */
export async function listNamespaces(): Promise<string[]> {
  try {
    return await readdir(NETNS_DIR);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

export async function namespaceExists(ns: string): Promise<boolean> {
  return (await listNamespaces()).includes(ns);
}

export async function rootLinkExists(name: string): Promise<boolean> {
  return (await runCommand(["ip", "link", "show", "dev", name])).code === 0;
}

/**
 * The lab namespace's forwarding guard: routed packets may go from one subnet's bridge to another's
 * and nowhere else, so the uplink (the way to the root namespace) is never a next hop for a host.
 */
function forwardGuard(): string {
  return [
    "table inet kctl-lab {",
    "  chain forward {",
    "    type filter hook forward priority 0; policy accept;",
    `    iifname "${LAB_UPLINK}" drop`,
    `    oifname "${LAB_UPLINK}" drop`,
    "  }",
    "}",
    "",
  ].join("\n");
}

/**
 * Creates the lab namespace with its loopback and one bridge per subnet holding that subnet's
 * gateway. With more than one subnet it routes between them (and only them: see forwardGuard).
 */
export async function createLabNamespace(lab: string, addrs: LabAddresses, subnets = 1): Promise<void> {
  const ns = labNamespace(lab);
  await mustRun(["ip", "netns", "add", ns]);
  await mustRun(ipIn(ns, "link", "set", "lo", "up"));
  for (let s = 0; s < subnets; s++) {
    const bridge = labBridge(s);
    await mustRun(ipIn(ns, "link", "add", bridge, "type", "bridge"));
    await mustRun(ipIn(ns, "addr", "add", `${subnetGateway(addrs, s)}/${addrs.prefixLength}`, "dev", bridge));
    await mustRun(ipIn(ns, "link", "set", bridge, "up"));
  }
  if (subnets > 1) {
    // The guard goes in before forwarding is turned on, so there is no moment without it.
    await mustRun(["ip", "netns", "exec", ns, "nft", "-f", "-"], forwardGuard());
    await sysctlIn(ns, "net.ipv4.ip_forward", "1");
  } else {
    // Hosts talk to each other over the bridge; nothing may be routed through the lab namespace.
    await sysctlIn(ns, "net.ipv4.ip_forward", "0");
  }
}

/**
 * Creates the root↔lab veth and the root's route to the gateway. The veth is created from the root
 * namespace with its peer placed directly in the lab namespace, so no lab-side name ever exists in
 * the root namespace. Returns the route added, as `ip route` spells it.
 */
export async function createTransit(lab: string, addrs: LabAddresses): Promise<string> {
  const ns = labNamespace(lab);
  const veth = rootVethName(lab);
  await mustRun(["ip", "link", "add", veth, "type", "veth", "peer", "name", LAB_UPLINK, "netns", ns]);
  await mustRun(["ip", "addr", "add", `${addrs.transitRoot}/${addrs.transitPrefixLength}`, "dev", veth]);
  await mustRun(["ip", "link", "set", veth, "up"]);
  await mustRun(
    ipIn(ns, "addr", "add", `${addrs.transitLab}/${addrs.transitPrefixLength}`, "dev", LAB_UPLINK),
  );
  await mustRun(ipIn(ns, "link", "set", LAB_UPLINK, "up"));
  const route = `${addrs.gateway}/32`;
  await mustRun(["ip", "route", "add", route, "via", addrs.transitLab, "dev", veth]);
  return route;
}

/**
 * Creates host namespace `index` joined to its subnet's bridge, at `nodeAddress(addrs, index,
 * subnets)`, with its default route via that subnet's gateway.
 */
export async function createHost(
  lab: string,
  addrs: LabAddresses,
  index: number,
  subnets = 1,
): Promise<void> {
  const labNs = labNamespace(lab);
  const ns = hostNamespace(lab, index);
  const port = bridgePortName(index);
  const address = nodeAddress(addrs, index, subnets);
  const subnet = nodeSubnet(index, subnets);
  await mustRun(["ip", "netns", "add", ns]);
  await mustRun(ipIn(labNs, "link", "add", port, "type", "veth", "peer", "name", HOST_LINK, "netns", ns));
  await mustRun(ipIn(labNs, "link", "set", port, "master", labBridge(subnet)));
  await mustRun(ipIn(labNs, "link", "set", port, "up"));
  await mustRun(ipIn(ns, "link", "set", "lo", "up"));
  await mustRun(ipIn(ns, "addr", "add", `${address}/${addrs.prefixLength}`, "dev", HOST_LINK));
  await mustRun(ipIn(ns, "link", "set", HOST_LINK, "up"));
  await mustRun(ipIn(ns, "route", "add", "default", "via", subnetGateway(addrs, subnet), "dev", HOST_LINK));
  // Hosts route pod traffic between their pod bridges and the lab link.
  await sysctlIn(ns, "net.ipv4.ip_forward", "1");
}

/** Deletes a namespace if it exists; interfaces inside it (and their veth peers) go with it. */
export async function deleteNamespace(ns: string): Promise<void> {
  if (!(await namespaceExists(ns))) return;
  await mustRun(["ip", "netns", "del", ns]);
}

/** Deletes a root-namespace link if it exists (its route goes with it). */
export async function deleteRootLink(name: string): Promise<void> {
  if (!(await rootLinkExists(name))) return;
  await mustRun(["ip", "link", "del", "dev", name]);
}

export interface RouteLookup {
  reachable: boolean;
  dev?: string;
  gateway?: string;
  error?: string;
}

/**
 * What the kernel of `ns` would do with a packet to `address` (`ip route get`): no packet is sent.
 * `ns` undefined means the root namespace.
 */
export async function routeGet(ns: string | undefined, address: string): Promise<RouteLookup> {
  const argv = ns ? ipIn(ns, "-j", "route", "get", address) : ["ip", "-j", "route", "get", address];
  const res = await runCommand(argv);
  if (res.code !== 0) return { reachable: false, error: res.stderr.trim() };
  const [route] = JSON.parse(res.stdout) as { dev?: string; gateway?: string; type?: string }[];
  if (!route || (route.type !== undefined && route.type !== "unicast" && route.type !== "local")) {
    return { reachable: false, error: `route type ${route?.type}` };
  }
  const result: RouteLookup = { reachable: true };
  if (route.dev !== undefined) result.dev = route.dev;
  if (route.gateway !== undefined) result.gateway = route.gateway;
  return result;
}
