/**
 * Reads what the overlay depends on from the kernel of one network namespace: the host's links and
 * IPv4 addresses (which peers are on-link, the underlay MTU, the VXLAN device as it stands) and the
 * device's neighbour and forwarding entries. Read-only.
 */
import { cidrContains, parseIPv4 } from "../../foundation/util/ipv4.js";
import { inNetns, runTool } from "../network/commands-linux.js";
import { RouteError } from "./errors.js";
import { VXLAN_DEVICE, type VxlanDeviceState } from "./vxlan-plan.js";

interface IpLink {
  ifname?: string;
  flags?: string[];
  mtu?: number;
  address?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; port?: number } };
  addr_info?: { family?: string; local?: string; prefixlen?: number }[];
}

export interface HostLinks {
  /** Whether `ip` is inside the prefix of an address on one of the host's links (the overlay's excluded). */
  onLink(ip: string): boolean;
  /** The MTU of the link holding address `ip`; undefined when no link holds it. */
  mtuOf(ip: string): number | undefined;
  /** The VXLAN device; undefined when it does not exist. */
  device?: VxlanDeviceState;
}

async function readJson<T>(argv: readonly string[]): Promise<T> {
  const res = await runTool(argv);
  if (res.code !== 0) throw new RouteError("CommandFailed", `${argv.join(" ")}: ${res.stderr.trim()}`);
  return JSON.parse(res.stdout || "[]") as T;
}

export async function readHostLinks(netns: string | undefined): Promise<HostLinks> {
  const links = await readJson<IpLink[]>([...inNetns(netns), "ip", "-d", "-j", "addr", "show"]);
  const prefixes: { base: number; prefix: number }[] = [];
  const mtus = new Map<string, number>();
  let device: VxlanDeviceState | undefined;
  for (const link of links) {
    const inet = (link.addr_info ?? []).filter((a) => a.family === "inet" && a.local !== undefined);
    for (const a of inet) if (link.mtu !== undefined) mtus.set(a.local!, link.mtu);
    if (link.ifname === VXLAN_DEVICE) {
      const data = link.linkinfo?.info_data ?? {};
      device = {
        ...(data.id !== undefined ? { vni: data.id } : {}),
        ...(data.local !== undefined ? { local: data.local } : {}),
        ...(data.port !== undefined ? { port: data.port } : {}),
        ...(link.address !== undefined ? { mac: link.address } : {}),
        ...(link.mtu !== undefined ? { mtu: link.mtu } : {}),
        up: (link.flags ?? []).includes("UP"),
        addresses: inet.map((a) => `${a.local}/${a.prefixlen ?? 32}`),
      };
      continue;
    }
    // A /32 (a LoadBalancer address, say) puts nothing else on-link.
    for (const a of inet) {
      const prefix = a.prefixlen ?? 32;
      if (prefix === 32) continue;
      const size = 2 ** (32 - prefix);
      prefixes.push({ base: Math.floor(parseIPv4(a.local!) / size) * size, prefix });
    }
  }
  return {
    onLink: (ip) => {
      const addr = parseIPv4(ip);
      return prefixes.some((p) => cidrContains(p, addr));
    },
    mtuOf: (ip) => mtus.get(ip),
    ...(device ? { device } : {}),
  };
}

/** The device's permanent neighbour entries: VTEP address → MAC. */
export async function readNeighbours(netns: string | undefined): Promise<Map<string, string>> {
  const rows = await readJson<{ dst?: string; lladdr?: string; state?: string[] }[]>([
    ...inNetns(netns),
    "ip",
    "-j",
    "-4",
    "neigh",
    "show",
    "dev",
    VXLAN_DEVICE,
    "nud",
    "permanent",
  ]);
  return new Map(rows.filter((r) => r.dst && r.lladdr).map((r) => [r.dst!, r.lladdr!]));
}

/** The device's forwarding entries that name a remote host: MAC → underlay address. */
export async function readFdb(netns: string | undefined): Promise<Map<string, string>> {
  const rows = await readJson<{ mac?: string; dst?: string }[]>([
    ...inNetns(netns),
    "bridge",
    "-j",
    "fdb",
    "show",
    "dev",
    VXLAN_DEVICE,
  ]);
  return new Map(rows.filter((r) => r.mac && r.dst).map((r) => [r.mac!, r.dst!]));
}
