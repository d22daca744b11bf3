/**
 * The node's pod bridge (`kctl0` by default): holds the gateway address of the node's podCIDR, so
 * the kernel routes the podCIDR to it, and IPv4 forwarding is on so pods reach beyond the node.
 * Converges from any starting point: missing bridge, wrong or extra addresses, down link.
 */
import { formatIpv4, type Ipv4Cidr } from "./cidr.js";
import { inNetns, ipBatch, mustRunTool, runTool } from "./commands-linux.js";
import { NetworkError } from "./errors.js";

export interface BridgeSpec {
  name: string;
  cidr: Ipv4Cidr;
  mtu: number;
  /** Network namespace of the node (undefined: the caller's own). */
  netns: string | undefined;
}

interface IpAddrJson {
  mtu?: number;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** Makes the bridge exist, up, with exactly the gateway as IPv4 address, and turns forwarding on. */
export async function ensureBridge(spec: BridgeSpec): Promise<void> {
  const gateway = `${formatIpv4(spec.cidr.gateway)}/${spec.cidr.prefix}`;
  const shown = await runTool([...inNetns(spec.netns), "ip", "-j", "addr", "show", "dev", spec.name]);
  const lines: string[] = [];
  let current: IpAddrJson | undefined;
  if (shown.code === 0) {
    try {
      current = (JSON.parse(shown.stdout) as IpAddrJson[])[0];
    } catch (err) {
      throw new NetworkError("CommandFailed", `ip -j addr show dev ${spec.name}: unreadable output`, {
        cause: err,
      });
    }
  } else {
    lines.push(`link add ${spec.name} mtu ${spec.mtu} type bridge`);
  }
  const v4 = (current?.addr_info ?? [])
    .filter((a) => a.family === "inet")
    .map((a) => `${a.local}/${a.prefixlen}`);
  // An address from an earlier podCIDR would route that range here too; the node has one podCIDR.
  for (const stale of v4.filter((a) => a !== gateway)) lines.push(`addr del ${stale} dev ${spec.name}`);
  if (!v4.includes(gateway)) lines.push(`addr add ${gateway} dev ${spec.name}`);
  if (current?.mtu !== undefined && current.mtu !== spec.mtu)
    lines.push(`link set ${spec.name} mtu ${spec.mtu}`);
  lines.push(`link set ${spec.name} up`);
  await ipBatch(spec.netns, lines);
  await mustRunTool([...inNetns(spec.netns), "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
}
