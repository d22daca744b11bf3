/**
 * What the NetworkPolicies of the cluster allow for this node's pods, computed from the policies,
 * the namespaces' labels and every pod's labels, IP and container ports. Pure: no nft here.
 *
 * Semantics (upstream's): a pod is isolated for a direction when any policy in its namespace selects
 * it and lists that direction in policyTypes; an isolated pod accepts only what the union of those
 * policies' rules allows. A rule with no peers allows any peer, with no ports any port; a peer is a
 * podSelector in the policy's namespace, a namespaceSelector (every pod of the namespaces it
 * matches), both (matching pods of matching namespaces), or an ipBlock (its CIDR minus `except`).
 * A named port is resolved against the destination pod's container ports (same name and
 * protocol): for ingress that is the local pod, for egress each peer pod, so egress to named ports
 * is a set of `ip . protocol . port` tuples. Pods that finished no longer hold their IP.
 */
import { createHash } from "node:crypto";
import {
  formatSelector,
  matchesSelector,
  type Selector,
  selectorFromLabelSelector,
} from "../../foundation/api/labels.js";
import type {
  LabelSelector,
  Namespace,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  Pod,
} from "../../proto/gen/api.js";

export type Direction = "ingress" | "egress";

/** Which peers a rule admits: any address, the pods of a named pod set, or a CIDR block. */
export type PeerMatch =
  | { kind: "any" }
  | { kind: "pods"; set: string }
  | { kind: "cidr"; cidr: string; except: string[] };

/**
 * Which destination ports: any; a protocol with any port; a protocol and a port or range; or the
 * tuples of a named-port set (`ip . protocol . port`, peer and port together).
 */
export type PortMatch =
  | { kind: "any" }
  | { kind: "protocol"; protocol: string }
  | { kind: "port"; protocol: string; port: number; endPort?: number }
  | { kind: "tuples"; set: string };

export interface Allow {
  peer: PeerMatch;
  port: PortMatch;
}

/** A local pod and what it accepts; a direction is absent when no policy isolates the pod for it. */
export interface PodPolicy {
  ip: string;
  /** `namespace/name`, for readers of the ruleset. */
  pod: string;
  ingress?: Allow[];
  egress?: Allow[];
}

export interface PolicyModel {
  /** Pod set name → the IPs of the pods a peer selects. */
  podSets: Map<string, Set<string>>;
  /** Named-port set name → `ip . protocol . port` elements. */
  tupleSets: Map<string, Set<string>>;
  /** Local pods with at least one isolated direction, by IP. */
  pods: PodPolicy[];
}

export interface PolicyInputs {
  nodeName: string;
  policies: readonly NetworkPolicy[];
  namespaces: readonly Namespace[];
  pods: readonly Pod[];
}

const hash = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 12);

/** An IP a policy can see: assigned, and not released by a finished pod. */
function podIp(pod: Pod): string | undefined {
  if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return undefined;
  return pod.status?.podIP || undefined;
}

function selector(s: LabelSelector | undefined): Selector | undefined {
  try {
    return selectorFromLabelSelector(s ?? {});
  } catch {
    // Validation refuses bad selectors; one stored before that selects nothing rather than all.
    return undefined;
  }
}

/** `10.0.0.5/8` → `10.0.0.0/8`: upstream accepts host bits, nft does not. */
function networkOf(cidr: string): string | undefined {
  const [addr, bits] = cidr.split("/");
  const parts = (addr ?? "").split(".").map(Number);
  const prefix = Number(bits);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) return undefined;
  const n = parts.reduce((a, p) => a * 256 + p, 0);
  const size = 2 ** (32 - prefix);
  const base = n - (n % size);
  return `${[24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join(".")}/${prefix}`;
}

export function computePolicyModel(inputs: PolicyInputs): PolicyModel {
  const nsLabels = new Map(inputs.namespaces.map((ns) => [ns.metadata.name ?? "", ns.metadata.labels ?? {}]));
  const live = inputs.pods.flatMap((pod) => {
    const ip = podIp(pod);
    return ip ? [{ pod, ip }] : [];
  });
  const tupleSets = new Map<string, Set<string>>();
  const peerPods = new Map<string, { pod: Pod; ip: string }[]>();

  /** The pods a (namespace, pod) selector pair picks, remembered under a name for its nft set. */
  const podsOf = (nsSel: LabelSelector | undefined, policyNs: string, podSel: LabelSelector | undefined) => {
    const ns = nsSel ? selector(nsSel) : undefined;
    const pods = selector(podSel);
    const nsKey = nsSel ? `sel:${ns ? formatSelector(ns) : "!"}` : `name:${policyNs}`;
    const key = `ns=${nsKey}|pods=${pods ? formatSelector(pods) : "!"}`;
    const name = `pods-${hash(key)}`;
    if (!peerPods.has(name)) {
      const picked =
        (nsSel && !ns) || !pods
          ? []
          : live.filter(({ pod }) => {
              const podNs = pod.metadata.namespace ?? "";
              const inNs = ns ? matchesSelector(ns, nsLabels.get(podNs) ?? {}) : podNs === policyNs;
              return inNs && matchesSelector(pods, pod.metadata.labels ?? {});
            });
      peerPods.set(name, picked);
    }
    return name;
  };
  const allPods = () => podsOf({}, "", {});

  const peerOf = (peer: NetworkPolicyPeer, policyNs: string): PeerMatch | undefined => {
    if (peer.ipBlock) {
      const cidr = networkOf(peer.ipBlock.cidr ?? "");
      // An IPv6 block can match nothing on this IPv4-only network.
      if (!cidr) return undefined;
      const except = (peer.ipBlock.except ?? []).map(networkOf).filter((c): c is string => !!c);
      return { kind: "cidr", cidr, except };
    }
    if (!peer.podSelector && !peer.namespaceSelector) return undefined;
    return { kind: "pods", set: podsOf(peer.namespaceSelector, policyNs, peer.podSelector) };
  };

  /** The container ports of `pod` named `name` with `protocol`. */
  const namedPorts = (pod: Pod, name: string, protocol: string) =>
    (pod.spec?.containers ?? []).flatMap((c) =>
      (c.ports ?? [])
        .filter((p) => p.name === name && (p.protocol ?? "TCP") === protocol && p.containerPort)
        .map((p) => p.containerPort!),
    );

  const allowsOf = (
    local: Pod,
    direction: Direction,
    policyNs: string,
    peers: readonly NetworkPolicyPeer[] | undefined,
    ports: readonly NetworkPolicyPort[] | undefined,
  ): Allow[] => {
    const peerList: (PeerMatch | undefined)[] = peers?.length
      ? peers.map((p) => peerOf(p, policyNs))
      : [{ kind: "any" }];
    const out: Allow[] = [];
    for (const peer of peerList) {
      if (!peer) continue;
      if (!ports?.length) {
        out.push({ peer, port: { kind: "any" } });
        continue;
      }
      for (const port of ports) {
        const protocol = port.protocol ?? "TCP";
        if (port.port === undefined) out.push({ peer, port: { kind: "protocol", protocol } });
        else if (typeof port.port === "number") {
          out.push({
            peer,
            port: {
              kind: "port",
              protocol,
              port: port.port,
              ...(port.endPort !== undefined ? { endPort: port.endPort } : {}),
            },
          });
        } else if (direction === "ingress") {
          for (const n of namedPorts(local, port.port, protocol))
            out.push({ peer, port: { kind: "port", protocol, port: n } });
        } else if (peer.kind !== "cidr") {
          // Egress to a named port: each peer pod resolves the name to its own number.
          const set = peer.kind === "pods" ? peer.set : allPods();
          const name = `ports-${hash(`${set}|${protocol}/${port.port}`)}`;
          const tuples = new Set<string>();
          for (const { pod, ip } of peerPods.get(set)!) {
            for (const n of namedPorts(pod, port.port, protocol))
              tuples.add(`${ip} . ${protocol.toLowerCase()} . ${n}`);
          }
          tupleSets.set(name, tuples);
          out.push({ peer: { kind: "any" }, port: { kind: "tuples", set: name } });
        }
      }
    }
    return out;
  };

  const pods: PodPolicy[] = [];
  for (const { pod, ip } of live) {
    if (pod.spec?.nodeName !== inputs.nodeName) continue;
    const ns = pod.metadata.namespace ?? "";
    const result: PodPolicy = { ip, pod: `${ns}/${pod.metadata.name ?? ""}` };
    for (const np of inputs.policies) {
      if ((np.metadata.namespace ?? "") !== ns) continue;
      const spec = np.spec ?? {};
      const sel = selector(spec.podSelector);
      if (!sel || !matchesSelector(sel, pod.metadata.labels ?? {})) continue;
      const types = spec.policyTypes?.length
        ? spec.policyTypes
        : spec.egress?.length
          ? ["Ingress", "Egress"]
          : ["Ingress"];
      if (types.includes("Ingress")) {
        result.ingress ??= [];
        for (const rule of spec.ingress ?? [])
          result.ingress.push(...allowsOf(pod, "ingress", ns, rule.from, rule.ports));
      }
      if (types.includes("Egress")) {
        result.egress ??= [];
        for (const rule of spec.egress ?? [])
          result.egress.push(...allowsOf(pod, "egress", ns, rule.to, rule.ports));
      }
    }
    if (result.ingress) result.ingress = unique(result.ingress);
    if (result.egress) result.egress = unique(result.egress);
    if (result.ingress || result.egress) pods.push(result);
  }
  pods.sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
  // Only sets a rule names become nft sets (a peer used only through named ports is in its tuples).
  const podSets = new Map<string, Set<string>>();
  for (const a of pods.flatMap((p) => [...(p.ingress ?? []), ...(p.egress ?? [])])) {
    if (a.peer.kind === "pods") podSets.set(a.peer.set, new Set(peerPods.get(a.peer.set)!.map((p) => p.ip)));
  }
  return { podSets, tupleSets, pods };
}

function unique(allows: Allow[]): Allow[] {
  const seen = new Map<string, Allow>();
  for (const a of allows) seen.set(JSON.stringify(a), a);
  return [...seen.values()];
}
