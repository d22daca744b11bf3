/**
 * The NetworkPolicy model as nftables text for one `nft -f` transaction, in a table of its own
 * (`table inet kctl-netpol`), so the proxy's table and this one never touch each other:
 *
 * ```
 * forward (filter hook forward, priority filter = 0, after the proxy's DNAT at -100, so the real
 *          pod address and port are seen for Service traffic):
 *   ct state established,related accept            replies and flows admitted when they began
 *   ip saddr vmap @egress-pods                     → jump egress-IP  (local pods isolated for egress)
 *   ip daddr vmap @ingress-pods                    → jump ingress-IP (local pods isolated for ingress)
 * egress-IP / ingress-IP: one rule per allowed (peer, port), verdict `return` (go on to the other
 *   direction's check), then reject.
 * pods-HASH: IPs of the pods one peer selects;  ports-HASH: `ip . proto . port` for named ports.
 * ```
 *
 * Only forwarded traffic is filtered: what the node's host sends to its pods (output) and what
 * pods send to their host (input) pass, as upstream requires for probes. Pure: nothing runs nft.
 */
import type { Allow, PeerMatch, PodPolicy, PolicyModel, PortMatch } from "./policy-model.js";

export const TABLE = "inet kctl-netpol";
const INGRESS_PODS = "ingress-pods";
const EGRESS_PODS = "egress-pods";
const TUPLE_TYPE = "ipv4_addr . inet_proto . inet_service";

/** The table's contents as names → values, the form `diff` compares. */
export interface RenderedTable {
  /** Set name → type. */
  sets: Map<string, string>;
  /** Set name → elements. */
  elements: Map<string, Set<string>>;
  /** Chain name → rule bodies. */
  chains: Map<string, string[]>;
  /** Map name → key → verdict. */
  maps: Map<string, Map<string, string>>;
}

export const chainName = (direction: "ingress" | "egress", ip: string) => `${direction}-${ip}`;

function peerMatch(peer: PeerMatch, field: "saddr" | "daddr"): string {
  switch (peer.kind) {
    case "any":
      return "";
    case "pods":
      return `ip ${field} @${peer.set} `;
    case "cidr":
      return `ip ${field} ${peer.cidr} ${peer.except.length ? `ip ${field} != { ${peer.except.join(", ")} } ` : ""}`;
  }
}

function portMatch(port: PortMatch): string {
  switch (port.kind) {
    case "any":
      return "";
    case "protocol":
      return `meta l4proto ${port.protocol.toLowerCase()} `;
    case "port": {
      const range =
        port.endPort !== undefined && port.endPort !== port.port
          ? `${port.port}-${port.endPort}`
          : `${port.port}`;
      return `meta l4proto ${port.protocol.toLowerCase()} th dport ${range} `;
    }
    case "tuples":
      return `ip daddr . meta l4proto . th dport @${port.set} `;
  }
}

function chainRules(allows: readonly Allow[], field: "saddr" | "daddr"): string[] {
  return [
    ...allows.map((a) => `${peerMatch(a.peer, field)}${portMatch(a.port)}return`),
    // Refused at once rather than dropped, so a client learns instead of waiting for its timeout.
    "meta l4proto tcp reject with tcp reset",
    "reject with icmpx admin-prohibited",
  ];
}

export function renderModel(model: PolicyModel): RenderedTable {
  const sets = new Map<string, string>();
  const elements = new Map<string, Set<string>>();
  for (const [name, ips] of model.podSets) {
    sets.set(name, "ipv4_addr");
    elements.set(name, ips);
  }
  for (const [name, tuples] of model.tupleSets) {
    sets.set(name, TUPLE_TYPE);
    elements.set(name, tuples);
  }
  const chains = new Map<string, string[]>();
  const ingress = new Map<string, string>();
  const egress = new Map<string, string>();
  const add = (p: PodPolicy, direction: "ingress" | "egress", allows: Allow[] | undefined) => {
    if (!allows) return;
    const chain = chainName(direction, p.ip);
    // The peer is the source for ingress and the destination for egress.
    chains.set(chain, chainRules(allows, direction === "ingress" ? "saddr" : "daddr"));
    (direction === "ingress" ? ingress : egress).set(p.ip, `jump ${chain}`);
  };
  for (const p of model.pods) {
    add(p, "ingress", p.ingress);
    add(p, "egress", p.egress);
  }
  return {
    sets,
    elements,
    chains,
    maps: new Map([
      [INGRESS_PODS, ingress],
      [EGRESS_PODS, egress],
    ]),
  };
}

function baseLines(): string[] {
  return [
    `add chain ${TABLE} forward { type filter hook forward priority filter; policy accept; }`,
    `add map ${TABLE} ${INGRESS_PODS} { type ipv4_addr : verdict; }`,
    `add map ${TABLE} ${EGRESS_PODS} { type ipv4_addr : verdict; }`,
    `add rule ${TABLE} forward ct state established,related accept`,
    `add rule ${TABLE} forward ip saddr vmap @${EGRESS_PODS}`,
    `add rule ${TABLE} forward ip daddr vmap @${INGRESS_PODS}`,
  ];
}

const elementLine = (verb: "add" | "delete", set: string, items: readonly string[]) =>
  `${verb} element ${TABLE} ${set} { ${items.join(", ")} }`;

/**
 * The script that takes the kernel from `old` (what the last successful script left; undefined for
 * a full sync that converges from any leftover) to `want`. Order matters within the transaction:
 * sets and chains are declared before rules use them, and map elements stop jumping to a chain
 * before the chain goes, chains stop naming a set before the set goes. Returns "" when nothing
 * changes.
 */
export function renderScript(want: RenderedTable, old: RenderedTable | undefined): string {
  const lines: string[] = [];
  const prev: RenderedTable = old ?? {
    sets: new Map(),
    elements: new Map(),
    chains: new Map(),
    maps: new Map(),
  };
  if (!old) lines.push(`add table ${TABLE}`, `delete table ${TABLE}`, `add table ${TABLE}`, ...baseLines());

  for (const [name, type] of want.sets) {
    // A set's type follows from its name's prefix (pods-, ports-), so a known name keeps its type.
    if (!prev.sets.has(name)) lines.push(`add set ${TABLE} ${name} { type ${type}; }`);
  }
  for (const name of want.chains.keys()) if (!prev.chains.has(name)) lines.push(`add chain ${TABLE} ${name}`);
  for (const [name, rules] of want.chains) {
    const before = prev.chains.get(name);
    if (before && before.join("\n") === rules.join("\n")) continue;
    if (before) lines.push(`flush chain ${TABLE} ${name}`);
    for (const r of rules) lines.push(`add rule ${TABLE} ${name} ${r}`);
  }
  for (const [name, items] of want.elements) {
    const had = prev.elements.get(name) ?? new Set<string>();
    const gone = [...had].filter((e) => !items.has(e));
    const added = [...items].filter((e) => !had.has(e));
    if (gone.length) lines.push(elementLine("delete", name, gone));
    if (added.length) lines.push(elementLine("add", name, added));
  }
  for (const [map, entries] of want.maps) {
    const had = prev.maps.get(map) ?? new Map<string, string>();
    const gone = [...had].filter(([k, v]) => entries.get(k) !== v).map(([k]) => k);
    const added = [...entries].filter(([k, v]) => had.get(k) !== v).map(([k, v]) => `${k} : ${v}`);
    if (gone.length) lines.push(elementLine("delete", map, gone));
    if (added.length) lines.push(elementLine("add", map, added));
  }
  for (const name of prev.chains.keys()) {
    if (!want.chains.has(name)) lines.push(`flush chain ${TABLE} ${name}`, `delete chain ${TABLE} ${name}`);
  }
  for (const name of prev.sets.keys()) if (!want.sets.has(name)) lines.push(`delete set ${TABLE} ${name}`);
  return lines.length ? `${lines.join("\n")}\n` : "";
}
