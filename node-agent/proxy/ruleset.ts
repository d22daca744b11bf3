/**
 * The nftables rules of the proxy, as text for `nft -f`, laid out like kube-proxy's nftables mode:
 * fixed base chains hooked at dstnat/srcnat and filter, verdict maps from
 * `clusterIP . protocol . port` and `protocol . nodePort` to a per-port service chain, a numgen
 * random choice over per-endpoint chains that DNAT, per-endpoint dynamic sets for ClientIP
 * affinity, and a reject for ports without ready endpoints. Pure functions: nothing here runs nft.
 */
import { createHash } from "node:crypto";
import type { ServicePortModel } from "./service-ports.js";

export interface RulesetConfig {
  /** Name of the `ip` family table the proxy owns. */
  readonly table: string;
  /** The pod CIDR of the whole cluster: off-cluster clients of a ClusterIP and pod egress leaving it are masqueraded. */
  readonly clusterCIDR: string | undefined;
  /** CIDRs whose addresses accept NodePorts; undefined: every local address but 127.0.0.0/8. */
  readonly nodePortAddresses: readonly string[] | undefined;
}

/** One element of a verdict map. */
export interface MapElement {
  readonly map: string;
  readonly key: string;
  readonly value: string;
}

/** What one service port adds to the table; chains and sets are named uniquely for the port. */
export interface RenderedPort {
  /** Chain name → rule bodies in order. */
  readonly chains: ReadonlyMap<string, readonly string[]>;
  /** Set name → declaration body (`{ type ...; }`). */
  readonly sets: ReadonlyMap<string, string>;
  readonly elements: readonly MapElement[];
}

export const SERVICE_IPS = "service-ips";
export const SERVICE_NODEPORTS = "service-nodeports";
export const NO_ENDPOINT_SERVICES = "no-endpoint-services";
export const NO_ENDPOINT_NODEPORTS = "no-endpoint-nodeports";
const SERVICES = "services";
const MARK_MASQ = "mark-for-masquerade";
const REJECT = "reject-chain";
const ENDPOINTS_CHECK = "endpoints-check";
/** Packet mark bit meaning "masquerade on the way out", as kube-proxy's KUBE-MARK-MASQ. */
const MASQ_BIT = "0x4000";

/** nft identifiers allow letters, digits and `/ - _ .`; anything else is replaced (the hash keeps names unique). */
function safe(id: string): string {
  return id.replace(/[^A-Za-z0-9/\-_.]/g, "_");
}

function hash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 8);
}

export function serviceChainName(p: ServicePortModel): string {
  return `svc-${hash(p.id)}-${safe(p.id)}`;
}

export function externalChainName(p: ServicePortModel): string {
  return `ext-${hash(p.id)}-${safe(p.id)}`;
}

export function endpointChainName(p: ServicePortModel, ep: { ip: string; port: number }): string {
  return `ep-${hash(p.id)}-${safe(p.id)}__${ep.ip}/${ep.port}`;
}

/** The timeout is part of the hashed name: a new timeout makes a new set instead of altering one in use. */
export function affinitySetName(p: ServicePortModel, ep: { ip: string; port: number }): string {
  return `aff-${hash(`${p.id}@${p.affinitySeconds}`)}-${safe(p.id)}__${ep.ip}/${ep.port}`;
}

/** Declarations and rules of the fixed part of the table, as `nft -f` lines. */
export function renderBase(config: RulesetConfig): string[] {
  const t = `ip ${config.table}`;
  const nodeAddrs =
    config.nodePortAddresses === undefined
      ? "fib daddr type local ip daddr != 127.0.0.0/8"
      : `ip daddr { ${config.nodePortAddresses.join(", ")} }`;
  const lines = [
    `add chain ${t} nat-prerouting { type nat hook prerouting priority dstnat; policy accept; }`,
    `add chain ${t} nat-output { type nat hook output priority -100; policy accept; }`,
    `add chain ${t} nat-postrouting { type nat hook postrouting priority srcnat; policy accept; }`,
    // Reject is not allowed in nat chains, so ports without endpoints are refused by filter chains
    // that run before DNAT (-110 < -100) on every path a new connection can take.
    `add chain ${t} filter-input { type filter hook input priority -110; policy accept; }`,
    `add chain ${t} filter-forward { type filter hook forward priority -110; policy accept; }`,
    `add chain ${t} filter-output { type filter hook output priority -110; policy accept; }`,
    `add chain ${t} ${SERVICES}`,
    `add chain ${t} ${MARK_MASQ}`,
    `add chain ${t} ${REJECT}`,
    `add chain ${t} ${ENDPOINTS_CHECK}`,
    `add map ${t} ${SERVICE_IPS} { type ipv4_addr . inet_proto . inet_service : verdict; }`,
    `add map ${t} ${SERVICE_NODEPORTS} { type inet_proto . inet_service : verdict; }`,
    `add map ${t} ${NO_ENDPOINT_SERVICES} { type ipv4_addr . inet_proto . inet_service : verdict; }`,
    `add map ${t} ${NO_ENDPOINT_NODEPORTS} { type inet_proto . inet_service : verdict; }`,
    `add rule ${t} nat-prerouting jump ${SERVICES}`,
    `add rule ${t} nat-output jump ${SERVICES}`,
    `add rule ${t} ${SERVICES} ip daddr . meta l4proto . th dport vmap @${SERVICE_IPS}`,
    `add rule ${t} ${SERVICES} ${nodeAddrs} meta l4proto . th dport vmap @${SERVICE_NODEPORTS}`,
    `add rule ${t} ${MARK_MASQ} meta mark set meta mark | ${MASQ_BIT}`,
    // The bit is cleared before masquerading so a packet that is routed again is not masqueraded twice.
    // Not fully-random (unlike kube-proxy): keeping the client's source port where it is free keeps
    // the pod's TIME_WAIT sockets meeting ports in the client's own order; random ports land on them
    // and PAWS drops the SYN (measured: new-connection throughput fell 9000 → 1000 req/s). The
    // kernel's conntrack clash resolution covers the UDP insert race fully-random was for.
    `add rule ${t} nat-postrouting meta mark & ${MASQ_BIT} == ${MASQ_BIT} meta mark set meta mark ^ ${MASQ_BIT} masquerade`,
    `add rule ${t} ${REJECT} meta l4proto tcp reject with tcp reset`,
    `add rule ${t} ${REJECT} reject`,
    `add rule ${t} ${ENDPOINTS_CHECK} ip daddr . meta l4proto . th dport vmap @${NO_ENDPOINT_SERVICES}`,
    `add rule ${t} ${ENDPOINTS_CHECK} ${nodeAddrs} meta l4proto . th dport vmap @${NO_ENDPOINT_NODEPORTS}`,
    `add rule ${t} filter-input ct state new jump ${ENDPOINTS_CHECK}`,
    `add rule ${t} filter-forward ct state new jump ${ENDPOINTS_CHECK}`,
    `add rule ${t} filter-output ct state new jump ${ENDPOINTS_CHECK}`,
  ];
  if (config.clusterCIDR !== undefined) {
    // Pod egress leaving the cluster goes out with the node's address.
    const c = config.clusterCIDR;
    lines.push(`add rule ${t} nat-postrouting ip saddr ${c} ip daddr != ${c} masquerade`);
  }
  return lines;
}

/** The chains, sets and map elements of one service port. */
export function renderPort(p: ServicePortModel, config: RulesetConfig): RenderedPort {
  const chains = new Map<string, string[]>();
  const sets = new Map<string, string>();
  const elements: MapElement[] = [];
  const ipKey = `${p.clusterIP} . ${p.protocol} . ${p.port}`;
  const npKey = `${p.protocol} . ${p.nodePort}`;
  const lbKeys = (p.loadBalancerIPs ?? []).map((ip) => `${ip} . ${p.protocol} . ${p.port}`);
  const reject = (map: string, key: string) => elements.push({ map, key, value: `goto ${REJECT}` });
  if (p.endpoints.length === 0) {
    for (const key of [ipKey, ...lbKeys]) reject(NO_ENDPOINT_SERVICES, key);
    if (p.nodePort !== undefined) reject(NO_ENDPOINT_NODEPORTS, npKey);
    return { chains, sets, elements };
  }

  const svc = serviceChainName(p);
  const svcRules: string[] = [];
  if (config.clusterCIDR !== undefined) {
    // Clients outside the pod network (hosts, other nodes) must get replies back through this node.
    svcRules.push(
      `ip daddr ${p.clusterIP} ${p.protocol} dport ${p.port} ip saddr != ${config.clusterCIDR} jump ${MARK_MASQ}`,
    );
  }
  svcRules.push(...chooseEndpoint(p, p.endpoints, chains, sets));
  chains.set(svc, svcRules);

  // The node-local choice, for Local traffic policies; no masquerade on the way, so the
  // endpoint sees the client's own address.
  const local = p.localEndpoints ?? [];
  const loc = localChainName(p);
  if ((p.internalLocal || p.externalLocal) && local.length > 0) {
    chains.set(loc, chooseEndpoint(p, local, chains, sets));
  }

  if (!p.internalLocal) elements.push({ map: SERVICE_IPS, key: ipKey, value: `goto ${svc}` });
  else if (local.length > 0) elements.push({ map: SERVICE_IPS, key: ipKey, value: `goto ${loc}` });
  else reject(NO_ENDPOINT_SERVICES, ipKey);

  if (p.nodePort !== undefined || lbKeys.length > 0) {
    const ext = externalChainName(p);
    if (!p.externalLocal) {
      // NodePort and LoadBalancer traffic may come from another host: masquerade so replies return
      // through this node.
      chains.set(ext, [`jump ${MARK_MASQ}`, `goto ${svc}`]);
    } else {
      // As kube-proxy: pods and this host itself still reach every endpoint (the host masqueraded);
      // outside clients only this node's, unmasqueraded, or nothing, so the address's announcer
      // must be a node with endpoints.
      const rules: string[] = [];
      if (config.clusterCIDR !== undefined) rules.push(`ip saddr ${config.clusterCIDR} goto ${svc}`);
      rules.push(`fib saddr type local jump ${MARK_MASQ}`, `fib saddr type local goto ${svc}`);
      rules.push(local.length > 0 ? `goto ${loc}` : "drop");
      chains.set(ext, rules);
    }
    if (p.nodePort !== undefined) elements.push({ map: SERVICE_NODEPORTS, key: npKey, value: `goto ${ext}` });
    for (const key of lbKeys) elements.push({ map: SERVICE_IPS, key, value: `goto ${ext}` });
  }
  return { chains, sets, elements };
}

export function localChainName(p: ServicePortModel): string {
  return `loc-${hash(p.id)}-${safe(p.id)}`;
}

/**
 * The rules that pick one of `endpoints` (ClientIP affinity first, then at random), adding each
 * endpoint's DNAT chain and affinity set to `chains`/`sets` (the same ones whichever choice uses them).
 */
function chooseEndpoint(
  p: ServicePortModel,
  endpoints: readonly { ip: string; port: number }[],
  chains: Map<string, string[]>,
  sets: Map<string, string>,
): string[] {
  const rules: string[] = [];
  const choices: string[] = [];
  endpoints.forEach((ep, i) => {
    const epChain = endpointChainName(p, ep);
    const epRules = [`ip saddr ${ep.ip} jump ${MARK_MASQ}`];
    if (p.affinitySeconds !== undefined) {
      const set = affinitySetName(p, ep);
      sets.set(set, `{ type ipv4_addr; flags dynamic,timeout; timeout ${p.affinitySeconds}s; }`);
      rules.push(`ip saddr @${set} goto ${epChain}`);
      epRules.push(`update @${set} { ip saddr }`);
    }
    epRules.push(`meta l4proto ${p.protocol} dnat to ${ep.ip}:${ep.port}`);
    chains.set(epChain, epRules);
    choices.push(`${i} : goto ${epChain}`);
  });
  rules.push(`numgen random mod ${endpoints.length} vmap { ${choices.join(", ")} }`);
  return rules;
}

/** Rules plus map elements of a rendered port (the rule-count metric). */
export function countRules(r: RenderedPort): number {
  let n = r.elements.length;
  for (const rules of r.chains.values()) n += rules.length;
  return n;
}
