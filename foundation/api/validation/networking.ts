/**
 * Validation of NetworkPolicy (networking.k8s.io/v1), after upstream's ValidateNetworkPolicySpec:
 * selectors, ports (protocol, number or name, `endPort` only after a numeric `port` and not below
 * it), peers (at least one of podSelector/namespaceSelector/ipBlock, ipBlock alone), ipBlock CIDRs
 * with every `except` strictly inside `cidr`, and policyTypes.
 */

import { BlockList, isIP } from "node:net";
import type { IPBlock, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from "../../../proto/gen/api.js";
import { type Causes, child, ianaSvcNameErrors, index, validateOneOf, validatePortNumber } from "./field.js";
import { protocols, validateLabelSelectorAt } from "./pod.js";

export const policyTypeValues = ["Ingress", "Egress"];

export function validateNetworkPolicy(c: Causes, np: NetworkPolicy): void {
  const spec = np.spec ?? {};
  validateLabelSelectorAt(c, "spec.podSelector", spec.podSelector ?? {});
  const rules = [
    ...(spec.ingress ?? []).map((r, i) => ({
      path: index("spec.ingress", i),
      ports: r.ports,
      peers: r.from,
      word: "from",
    })),
    ...(spec.egress ?? []).map((r, i) => ({
      path: index("spec.egress", i),
      ports: r.ports,
      peers: r.to,
      word: "to",
    })),
  ];
  for (const rule of rules) {
    for (const [j, port] of (rule.ports ?? []).entries())
      validatePolicyPort(c, index(child(rule.path, "ports"), j), port);
    for (const [j, peer] of (rule.peers ?? []).entries())
      validatePeer(c, index(child(rule.path, rule.word), j), peer);
  }
  const types = spec.policyTypes ?? [];
  for (const [i, t] of types.entries()) validateOneOf(c, index("spec.policyTypes", i), t, policyTypeValues);
  if (types.length > 2) c.invalid("spec.policyTypes", types, "may not specify more than two policyTypes");
}

function validatePolicyPort(c: Causes, path: string, port: NetworkPolicyPort): void {
  validateOneOf(c, child(path, "protocol"), port.protocol, protocols, false);
  const endPath = child(path, "endPort");
  if (port.port === undefined) {
    if (port.endPort !== undefined)
      c.invalid(endPath, port.endPort, "may not be specified when `port` is not specified");
    return;
  }
  if (typeof port.port === "string") {
    if (port.endPort !== undefined)
      c.invalid(endPath, port.endPort, "may not be specified when `port` is non-numeric");
    c.syntax(child(path, "port"), port.port, ianaSvcNameErrors(port.port));
    return;
  }
  validatePortNumber(c, child(path, "port"), port.port);
  if (port.endPort !== undefined) {
    if (port.endPort < port.port) c.invalid(endPath, port.endPort, "must be greater than or equal to `port`");
    validatePortNumber(c, endPath, port.endPort);
  }
}

function validatePeer(c: Causes, path: string, peer: NetworkPolicyPeer): void {
  let kinds = 0;
  if (peer.podSelector) {
    kinds++;
    validateLabelSelectorAt(c, child(path, "podSelector"), peer.podSelector);
  }
  if (peer.namespaceSelector) {
    kinds++;
    validateLabelSelectorAt(c, child(path, "namespaceSelector"), peer.namespaceSelector);
  }
  if (peer.ipBlock) {
    kinds++;
    validateIpBlock(c, child(path, "ipBlock"), peer.ipBlock);
  }
  if (kinds === 0) c.required(path, "must specify a peer");
  else if (kinds > 1 && peer.ipBlock) c.forbidden(path, "may not specify both ipBlock and another peer");
}

/** A CIDR as upstream reads it (host bits allowed, IPv4 or IPv6); undefined when unreadable. */
export interface ParsedCidr {
  family: "ipv4" | "ipv6";
  address: string;
  prefix: number;
}

export function parseAnyCidr(text: string): ParsedCidr | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const address = text.slice(0, slash);
  const bits = text.slice(slash + 1);
  const version = isIP(address);
  if (version === 0 || !/^\d{1,3}$/.test(bits)) return undefined;
  const prefix = Number(bits);
  if (prefix > (version === 4 ? 32 : 128)) return undefined;
  return { family: version === 4 ? "ipv4" : "ipv6", address, prefix };
}

const cidrHint = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";

function validateIpBlock(c: Causes, path: string, block: IPBlock): void {
  const cidrPath = child(path, "cidr");
  if (!block.cidr) {
    c.required(cidrPath);
    return;
  }
  const outer = parseAnyCidr(block.cidr);
  if (!outer) {
    c.invalid(cidrPath, block.cidr, cidrHint);
    return;
  }
  const within = new BlockList();
  within.addSubnet(outer.address, outer.prefix, outer.family);
  (block.except ?? []).forEach((text, i) => {
    const p = index(child(path, "except"), i);
    const inner = parseAnyCidr(text);
    if (!inner) c.invalid(p, text, cidrHint);
    else if (
      inner.family !== outer.family ||
      inner.prefix <= outer.prefix ||
      !within.check(inner.address, inner.family)
    ) {
      c.invalid(p, text, "must be a strict subset of `cidr`");
    }
  });
}
