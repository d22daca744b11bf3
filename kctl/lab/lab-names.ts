/**
 * Names and addresses derived from a lab's name and subnet index. Everything the lab creates is
 * named here, so `lab down` can find a lab's leftovers from its name alone when the state file is
 * missing, and two labs can never pick the same name for anything.
 */
import { LabError } from "./errors.js";

export const DEFAULT_LAB_NAME = "lab";
export const MAX_NODES = 200;

// The root-side veth is `kctl-<name>` and Linux caps interface names at 15 bytes: 5 + 10.
const LAB_NAME = /^[a-z](?:[a-z0-9-]{0,8}[a-z0-9])?$/;
// A lab called `a-node1` would own the namespace `kctl-a-node1`, which is node1 of lab `a`.
const NODE_SUFFIX = /-node\d+$/;

/** Throws `InvalidArgument` naming `field` when `name` cannot be a lab name. */
export function validateLabName(name: string, field = "--name"): void {
  if (!LAB_NAME.test(name)) {
    throw new LabError(
      "InvalidArgument",
      `${field}: "${name}" is not a valid lab name: use 1-10 characters a-z, 0-9 and "-", starting with a letter and not ending with "-"`,
    );
  }
  if (NODE_SUFFIX.test(name)) {
    throw new LabError(
      "InvalidArgument",
      `${field}: "${name}" is not a valid lab name: it must not end in -node<N>, which names lab hosts`,
    );
  }
}

/** Throws `InvalidArgument` naming `field` unless `n` is a whole number of nodes the lab supports. */
export function validateNodeCount(n: number, field = "--nodes"): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_NODES) {
    throw new LabError(
      "InvalidArgument",
      `${field}: must be a whole number from 1 to ${MAX_NODES}, got ${n}`,
    );
  }
}

/** Most subnets a lab spreads its hosts over (10.k.0.0/24 .. 10.k.7.0/24). */
export const MAX_SUBNETS = 8;

/** Throws `InvalidArgument` naming `field` unless `n` subnets can hold `nodes` hosts. */
export function validateSubnetCount(n: number, nodes: number, field = "--subnets"): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_SUBNETS) {
    throw new LabError(
      "InvalidArgument",
      `${field}: must be a whole number from 1 to ${MAX_SUBNETS}, got ${n}`,
    );
  }
  if (n > nodes) {
    throw new LabError(
      "InvalidArgument",
      `${field}: ${n} subnets for ${nodes} hosts would leave a subnet empty`,
    );
  }
}

export function nodeName(index: number): string {
  return `node${index}`;
}

/** The lab namespace: bridge, gateway address and the control plane live here. */
export function labNamespace(lab: string): string {
  return `kctl-${lab}`;
}

/** The host namespace of node `index` (1-based). */
export function hostNamespace(lab: string, index: number): string {
  return `kctl-${lab}-${nodeName(index)}`;
}

/** Matches the host namespaces of `lab` and captures the node index. */
export function hostNamespacePattern(lab: string): RegExp {
  return new RegExp(`^kctl-${lab}-node(\\d+)$`);
}

/** The root-namespace end of the point-to-point link into the lab namespace. */
export function rootVethName(lab: string): string {
  return `kctl-${lab}`;
}

/** The directory name of the lab's cgroup subtree, beneath the cgroup of the process that made it. */
export function labCgroupName(lab: string): string {
  return `kctl-lab-${lab}`;
}

// Interface names inside the namespaces; they only need to be unique within their namespace.
export const LAB_UPLINK = "uplink0";

/** The lab-namespace bridge of subnet `s` (0-based): `lab0`, `lab1`, ... */
export function labBridge(s: number): string {
  return `lab${s}`;
}
export const HOST_LINK = "eth0";

/** The lab-namespace end of node `index`'s veth, enslaved to the lab bridge. */
export function bridgePortName(index: number): string {
  return `v-${nodeName(index)}`;
}

/**
 * The addresses of a lab owning 10.<k>.0.0/16. The /16 is reserved whole so that one overlap check
 * against the host's routes covers both the lab subnet and the transit link.
 *   k=100: lab subnet 10.100.0.0/24, gateway 10.100.0.1, node1 10.100.0.11,
 *          transit 10.100.255.252/30 (root side .253, lab side .254)
 */
export interface LabAddresses {
  index: number;
  reserved: string;
  subnet: string;
  prefixLength: number;
  gateway: string;
  transitPrefixLength: number;
  transitRoot: string;
  transitLab: string;
}

// 10.96/16 (services) and 10.244/16 (pods) stay outside this range.
export const FIRST_SUBNET_INDEX = 100;
export const LAST_SUBNET_INDEX = 199;

export function labAddresses(index: number): LabAddresses {
  return {
    index,
    reserved: `10.${index}.0.0/16`,
    subnet: `10.${index}.0.0/24`,
    prefixLength: 24,
    gateway: `10.${index}.0.1`,
    transitPrefixLength: 30,
    transitRoot: `10.${index}.255.253`,
    transitLab: `10.${index}.255.254`,
  };
}

/** The subnet (0-based) of node `index` (1-based): hosts are dealt round the subnets in turn. */
export function nodeSubnet(index: number, subnets: number): number {
  return (index - 1) % subnets;
}

/** The gateway of subnet `s`: 10.k.s.1, held by the lab namespace. Subnet 0's is `addrs.gateway`. */
export function subnetGateway(addrs: LabAddresses, s: number): string {
  return `10.${addrs.index}.${s}.1`;
}

/** Node `index` (1-based) sits at .10+index on its subnet: 10.k.s.(10+index). */
export function nodeAddress(addrs: LabAddresses, index: number, subnets = 1): string {
  return `10.${addrs.index}.${nodeSubnet(index, subnets)}.${10 + index}`;
}
