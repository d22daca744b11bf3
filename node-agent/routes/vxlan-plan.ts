/**
 * The VXLAN overlay as data: the one device per host, each peer's VTEP (its address and MAC, both
 * derived from the peer's podCIDR so every host computes them from the Node object alone, with no
 * annotation to publish), and the `ip`/`bridge` batch lines that turn what the kernel has into
 * what the peers need. Pure functions.
 */
import { formatIPv4, parseCidr } from "../../foundation/util/ipv4.js";

/** The overlay device every host makes; its address is the host's VTEP. */
export const VXLAN_DEVICE = "kctl-vxlan";
/** VXLAN network identifier: one overlay per cluster. */
export const VXLAN_VNI = 1;
/** The IANA VXLAN port (the kernel's default, 8472, predates it). */
export const VXLAN_PORT = 4789;
/** What VXLAN over IPv4 adds to each packet: outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14. */
export const VXLAN_OVERHEAD = 50;

/** The largest packet the overlay carries over an underlay link of `underlayMtu`. */
export function overlayMtu(underlayMtu: number): number {
  return underlayMtu - VXLAN_OVERHEAD;
}

/** A peer reached through the overlay: packets to `vtep` go as `mac` inside UDP to `underlayIP`. */
export interface OverlayPeer {
  vtep: string;
  mac: string;
  underlayIP: string;
}

/** A host's VTEP address: its podCIDR's network address (10.244.2.0/24 → 10.244.2.0), which no pod gets. */
export function vtepAddress(podCIDR: string): string {
  return formatIPv4(parseCidr(podCIDR).base);
}

/**
 * A host's VTEP MAC: 0a:58 and the four bytes of its podCIDR's network address (as OVN-Kubernetes
 * derives pod MACs from IPs). 0a has the locally-administered bit set and the multicast bit clear;
 * podCIDRs are unique, so the MACs are.
 */
export function vtepMac(podCIDR: string): string {
  const base = parseCidr(podCIDR).base;
  const bytes = [0x0a, 0x58, base >>> 24, (base >>> 16) & 255, (base >>> 8) & 255, base & 255];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}

/** The device as `ip -d -j link show` describes what matters of it. */
export interface VxlanDeviceState {
  vni?: number;
  local?: string;
  port?: number;
  mac?: string;
  mtu?: number;
  up: boolean;
  addresses: readonly string[];
}

export interface VxlanDeviceSpec {
  local: string;
  mac: string;
  mtu: number;
  /** The VTEP address, as `a.b.c.d/32`. */
  address: string;
}

/**
 * `ip -batch` lines that make the device match `spec` from `current` (undefined: absent). A
 * device with another VNI, local address or port is made anew, since those cannot be changed in
 * place; MAC, MTU, address and state are set where they differ.
 */
export function deviceChanges(current: VxlanDeviceState | undefined, spec: VxlanDeviceSpec): string[] {
  const d = VXLAN_DEVICE;
  const lines: string[] = [];
  const remake =
    current !== undefined &&
    (current.vni !== VXLAN_VNI || current.local !== spec.local || current.port !== VXLAN_PORT);
  if (remake) lines.push(`link del ${d}`);
  const fresh = current === undefined || remake;
  if (fresh) {
    // nolearning: peers come from Node objects, never from what arrives on the wire.
    lines.push(
      `link add ${d} type vxlan id ${VXLAN_VNI} local ${spec.local} dstport ${VXLAN_PORT} nolearning`,
    );
  }
  if (fresh || current.mac !== spec.mac) lines.push(`link set ${d} address ${spec.mac}`);
  if (fresh || current.mtu !== spec.mtu) lines.push(`link set ${d} mtu ${spec.mtu}`);
  if (fresh || !current.addresses.includes(spec.address)) lines.push(`addr replace ${spec.address} dev ${d}`);
  if (!fresh) {
    for (const a of current.addresses) if (a !== spec.address) lines.push(`addr del ${a} dev ${d}`);
  }
  if (fresh || !current.up) lines.push(`link set ${d} up`);
  return lines;
}

/** `ip -batch` lines making the device's neighbour entries (VTEP address → MAC) exactly `peers`'. */
export function neighbourChanges(
  current: ReadonlyMap<string, string>,
  peers: readonly OverlayPeer[],
): string[] {
  const d = VXLAN_DEVICE;
  const lines: string[] = [];
  const want = new Set<string>();
  for (const p of peers) {
    want.add(p.vtep);
    if (current.get(p.vtep) !== p.mac)
      lines.push(`neigh replace ${p.vtep} lladdr ${p.mac} dev ${d} nud permanent`);
  }
  for (const ip of current.keys()) if (!want.has(ip)) lines.push(`neigh del ${ip} dev ${d}`);
  return lines;
}

/** `bridge -batch` lines making the device's forwarding entries (MAC → peer host) exactly `peers`'. */
export function fdbChanges(current: ReadonlyMap<string, string>, peers: readonly OverlayPeer[]): string[] {
  const d = VXLAN_DEVICE;
  const lines: string[] = [];
  const want = new Set<string>();
  for (const p of peers) {
    want.add(p.mac);
    if (current.get(p.mac) !== p.underlayIP)
      lines.push(`fdb replace ${p.mac} dev ${d} dst ${p.underlayIP} self permanent`);
  }
  for (const [mac, dst] of current) if (!want.has(mac)) lines.push(`fdb del ${mac} dev ${d} dst ${dst} self`);
  return lines;
}
