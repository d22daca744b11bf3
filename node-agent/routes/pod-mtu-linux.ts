/**
 * The MTU of pod interfaces: the overlay's (the MTU of the link holding the node's InternalIP,
 * minus VXLAN's 50 bytes) on every node, whether or not a peer is off-link yet. flannel does the
 * same (its FLANNEL_MTU is every pod's MTU, DirectRouting peers included), and so does Calico (the
 * smallest MTU of the encapsulations in use). A pod's interface is made once and reaches every
 * peer through it, while which peers are off-link changes as nodes come and go; at the underlay's
 * MTU a pod sends full-size packets the overlay cannot carry and depends on the host's ICMP
 * "fragmentation needed" reaching it (PMTU discovery), which a firewall or policy on the way can
 * drop. The price on host-gw peers is 50 bytes less payload per packet.
 */
import { DEFAULT_MTU } from "../network/index.js";
import { readHostLinks } from "./host-links-linux.js";
import { overlayMtu } from "./vxlan-plan.js";

/**
 * The MTU for pods of the node whose InternalIP is `nodeIP`, read in network namespace `netns`
 * (undefined: this process's). When no link holds the address (the overlay then has no underlay
 * either, and HostRoutes reports it), the overlay over an Ethernet link of 1500.
 */
export async function podMtu(nodeIP: string, netns?: string): Promise<number> {
  const links = await readHostLinks(netns);
  return overlayMtu(links.mtuOf(nodeIP) ?? DEFAULT_MTU);
}
