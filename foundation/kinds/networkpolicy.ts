/** NetworkPolicy: which traffic may reach (ingress) and leave (egress) the pods a selector picks. */

import type {
  LabelSelector,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  NetworkPolicySpec,
} from "../../proto/gen/api.js";
import { validateNetworkPolicy } from "../api/validation/networking.js";
import { created } from "../printers/cells.js";
import { selectorText } from "../printers/describe-sections.js";
import type { DescribeWriter } from "../printers/describe-writer.js";
import { defineKind } from "./kind.js";

/**
 * Upstream's SetDefaults_NetworkPolicy: a policy without policyTypes governs Ingress, and Egress
 * too when it has egress rules; a port without protocol is TCP.
 */
export function defaultNetworkPolicy(np: NetworkPolicy): void {
  np.spec ??= {};
  const spec = np.spec;
  spec.podSelector ??= {};
  if (!spec.policyTypes?.length) {
    spec.policyTypes = spec.egress?.length ? ["Ingress", "Egress"] : ["Ingress"];
  }
  for (const rule of [...(spec.ingress ?? []), ...(spec.egress ?? [])]) {
    for (const port of rule.ports ?? []) port.protocol ??= "TCP";
  }
}

function portText(p: NetworkPolicyPort): string {
  const proto = p.protocol ?? "TCP";
  if (p.port === undefined) return `<any>/${proto}`;
  return p.endPort !== undefined ? `${p.port}-${p.endPort}/${proto}` : `${p.port}/${proto}`;
}

const selector = (s: LabelSelector) => selectorText(s);

function describePeers(
  w: DescribeWriter,
  word: "From" | "To",
  peers: readonly NetworkPolicyPeer[] | undefined,
): void {
  if (!peers?.length) {
    w.text(4, `${word}: <any> (traffic not restricted by ${word === "From" ? "source" : "destination"})`);
    return;
  }
  for (const peer of peers) {
    w.text(4, `${word}:`);
    if (peer.namespaceSelector) w.field(6, "NamespaceSelector", selector(peer.namespaceSelector));
    if (peer.podSelector) w.field(6, "PodSelector", selector(peer.podSelector));
    if (peer.ipBlock) {
      w.text(6, "IPBlock:");
      w.field(8, "CIDR", peer.ipBlock.cidr);
      w.text(8, `Except: ${(peer.ipBlock.except ?? []).join(", ")}`);
    }
  }
}

/** kubectl's describeNetworkPolicySpec. */
function describeSpec(w: DescribeWriter, spec: NetworkPolicySpec): void {
  w.section(0, "Spec");
  const sel = spec.podSelector ?? {};
  const empty = !Object.keys(sel.matchLabels ?? {}).length && !sel.matchExpressions?.length;
  w.field(
    2,
    "PodSelector",
    empty ? "<none> (Allowing the specific traffic to all pods in this namespace)" : selector(sel),
  );
  const types = spec.policyTypes ?? [];
  const directions = [
    {
      type: "Ingress",
      word: "From" as const,
      rules: (spec.ingress ?? []).map((r) => ({ ports: r.ports, peers: r.from })),
    },
    {
      type: "Egress",
      word: "To" as const,
      rules: (spec.egress ?? []).map((r) => ({ ports: r.ports, peers: r.to })),
    },
  ];
  for (const d of directions) {
    const lower = d.type.toLowerCase();
    if (!types.includes(d.type)) {
      w.text(2, `Not affecting ${lower} traffic`);
      continue;
    }
    w.text(2, `Allowing ${lower} traffic:`);
    if (d.rules.length === 0) w.text(4, `<none> (Selected pods are isolated for ${lower} connectivity)`);
    d.rules.forEach((rule, i) => {
      if (!rule.ports?.length) w.text(4, "To Port: <any> (traffic allowed to all ports)");
      for (const p of rule.ports ?? []) w.text(4, `To Port: ${portText(p)}`);
      describePeers(w, d.word, rule.peers);
      if (i !== d.rules.length - 1) w.text(4, "----------");
    });
  }
  w.field(2, "Policy Types", types.join(", "));
}

export const networkPolicyKind = defineKind<NetworkPolicy>({
  resource: {
    group: "networking.k8s.io",
    version: "v1",
    kind: "NetworkPolicy",
    plural: "networkpolicies",
    singular: "networkpolicy",
    shortNames: ["netpol"],
    namespaced: true,
    subresources: [],
    message: "kctl.api.NetworkPolicy",
    hasStatus: false,
  },
  defaults: defaultNetworkPolicy,
  validate: (c, np) => validateNetworkPolicy(c, np),
  columns: {
    headers: ["POD-SELECTOR", "AGE"],
    cells: (np, now) => [selectorText(np.spec?.podSelector ?? {}), created(np, now)],
  },
  describe: (w, np) => describeSpec(w, np.spec ?? {}),
});
