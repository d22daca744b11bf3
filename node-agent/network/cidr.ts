/**
 * IPv4 CIDR arithmetic for pod networks: parsing with errors that name the field, and the usable
 * host range (the network and broadcast addresses are never handed out; the gateway is the first
 * host address, like the bridge plugin's default).
 */
import { formatIPv4, parseIPv4 } from "../../foundation/util/ipv4.js";
import { NetworkError } from "./errors.js";

export interface Ipv4Cidr {
  /** The CIDR as given, normalised (`10.244.1.0/24`). */
  readonly text: string;
  /** Network address as an unsigned 32-bit number. */
  readonly network: number;
  readonly prefix: number;
  /** Broadcast address as an unsigned 32-bit number. */
  readonly broadcast: number;
  /** First host address, held by the node's bridge. */
  readonly gateway: number;
}

/** Parses a dotted IPv4 address; `field` names the input in the error. */
export function parseIpv4(text: string, field: string): number {
  try {
    return parseIPv4(text);
  } catch {
    throw new NetworkError("Invalid", `${field}: "${text}" is not an IPv4 address`);
  }
}

export const formatIpv4 = formatIPv4;

/**
 * Parses `a.b.c.d/len` with 8 ≤ len ≤ 30 (a /31 or /32 leaves no room for a gateway and a pod). Host
 * bits must be zero, as Kubernetes requires for `spec.podCIDR`.
 */
export function parseIpv4Cidr(text: string, field = "podCIDR"): Ipv4Cidr {
  const slash = text.indexOf("/");
  if (slash < 0) throw new NetworkError("Invalid", `${field}: "${text}" is not a CIDR (missing /prefix)`);
  if (text.includes(":")) {
    throw new NetworkError(
      "Invalid",
      `${field}: "${text}" is not an IPv4 address (IPv6 pod networks are not supported yet)`,
    );
  }
  const network = parseIpv4(text.slice(0, slash), field);
  const prefixText = text.slice(slash + 1);
  const prefix = /^[0-9]{1,2}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (!(prefix >= 8 && prefix <= 30)) {
    throw new NetworkError("Invalid", `${field}: "${text}" needs a prefix length from 8 to 30`);
  }
  const size = 2 ** (32 - prefix);
  if (network % size !== 0) {
    throw new NetworkError(
      "Invalid",
      `${field}: "${text}" has host bits set (network is ${formatIpv4(network - (network % size))}/${prefix})`,
    );
  }
  return {
    text: `${formatIpv4(network)}/${prefix}`,
    network,
    prefix,
    broadcast: network + size - 1,
    gateway: network + 1,
  };
}

/** Number of addresses pods can get: everything but network, gateway and broadcast. */
export function podCapacity(cidr: Ipv4Cidr): number {
  return cidr.broadcast - cidr.network - 2;
}

/** True when `ip` may be given to a pod. */
export function isPodAddress(cidr: Ipv4Cidr, ip: number): boolean {
  return ip > cidr.gateway && ip < cidr.broadcast;
}
