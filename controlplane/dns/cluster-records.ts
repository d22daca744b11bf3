/**
 * The answers of the cluster DNS, as a pure lookup over Service and Endpoints caches: which name
 * exists in the cluster domain and what it holds. It knows names and records, not packets
 * (dns-messages.ts encodes). The names follow the Kubernetes DNS-based service discovery spec
 * (kubernetes/dns docs/specification.md), with the default domain `cluster.local`:
 *
 * - `SVC.NS.svc.cluster.local` A: the ClusterIP; for a headless Service (`clusterIP: None`) one
 *   record per ready address of its Endpoints (with `publishNotReadyAddresses` the endpoints
 *   controller lists every address as ready, so they all appear). For an ExternalName Service, a
 *   CNAME to `spec.externalName`, whatever type was asked.
 * - `HOST.SVC.NS.svc.cluster.local` A, headless only: the ready address whose Endpoints entry
 *   carries `hostname: HOST` (a pod with `hostname` and `subdomain: SVC`), and `1-2-3-4` for an
 *   address without one (CoreDNS's name, which the SRV records below point at).
 * - `_PORT._PROTO.SVC.NS.svc.cluster.local` SRV, for each named port: ClusterIP Services one record
 *   to `SVC.NS.svc…`; headless ones one per ready address to its `HOST.SVC.NS.svc…` name, with the
 *   endpoint's port. The targets' A records go in the additional section.
 * - The names above (`NS.svc.cluster.local`, `svc.cluster.local`, `cluster.local`, `_PROTO.SVC…`)
 *   exist but hold no records, so resolvers get "no data" rather than "no such name".
 *
 * Shorter names are completed by the pod's resolv.conf search list; this lookup sees full names
 * only. A name outside the domain is refused: the cluster DNS never forwards or recurses, so a CNAME
 * to a name outside the cluster domain is answered alone and the client's resolver follows it.
 */

import { dns1123SubdomainErrors } from "../../foundation/api/labels.js";
import type { Endpoints, Service } from "../../proto/gen/api.js";
import type { DeepReadonly } from "../client/index.js";

/** What the lookup reads: Services and Endpoints by `namespace/name`, and whether the caches are filled. */
export interface ClusterDnsSource {
  service(key: string): DeepReadonly<Service> | undefined;
  endpoints(key: string): DeepReadonly<Endpoints> | undefined;
  /** False until the caches hold a full list; queries are answered SERVFAIL until then. */
  ready(): boolean;
}

/** The record types this DNS holds; any other asked type gets "no data" for an existing name. */
export type RecordType = "A" | "SRV" | "CNAME";

export type DnsRecord =
  | { type: "A"; name: string; ip: string }
  | { type: "CNAME"; name: string; target: string }
  | { type: "SRV"; name: string; priority: number; weight: number; port: number; target: string };

export type LookupResult =
  /** The name exists; `answers` may be empty (no records of the asked type). */
  | { kind: "answer"; answers: DnsRecord[]; additionals: DnsRecord[] }
  /** No such name in the cluster domain. */
  | { kind: "nxdomain" }
  /** Not ours to answer: outside the cluster domain. */
  | { kind: "refused" }
  /** The caches are not filled yet. */
  | { kind: "unavailable" };

/** Thrown for a cluster domain that is not a DNS name; names the option. */
export class ClusterDomainError extends Error {
  constructor(domain: string, why: string) {
    super(`cluster DNS option domain ${JSON.stringify(domain)}: ${why}`);
    this.name = "ClusterDomainError";
  }
}

/** Lower-cases and strips the trailing dot; throws ClusterDomainError for a name that cannot be a domain. */
export function normalizeDomain(domain: string): string {
  const d = canonicalName(domain);
  const errors = d === "" ? ["must not be empty"] : dns1123SubdomainErrors(d);
  if (errors.length > 0) throw new ClusterDomainError(domain, errors.join("; "));
  return d;
}

function canonicalName(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

/** One ready address of a headless Service, with the label its own name starts with. */
interface HeadlessEndpoint {
  ip: string;
  host: string;
  /** The endpoint port of each port name. */
  ports: Map<string, { port: number; protocol: string }>;
}

const noData = (): LookupResult => ({ kind: "answer", answers: [], additionals: [] });

export class ClusterRecords {
  readonly domain: string;

  constructor(
    private readonly source: ClusterDnsSource,
    domain: string,
  ) {
    this.domain = normalizeDomain(domain);
  }

  /** True when `name` (any case, trailing dot or not) is the cluster domain or below it. */
  inDomain(name: string): boolean {
    const n = canonicalName(name);
    return n === this.domain || n.endsWith(`.${this.domain}`);
  }

  /**
   * The records of `type` that `name` holds. Record names are written as asked (`name` verbatim),
   * targets in lower case under this domain. A CNAME answers every type; when its target lies in the
   * cluster domain, the target's records of `type` follow it in the answer (one step only, since an
   * ExternalName target is never itself followed).
   */
  lookup(name: string, type: RecordType | string): LookupResult {
    if (!this.inDomain(name)) return { kind: "refused" };
    if (!this.source.ready()) return { kind: "unavailable" };
    const n = canonicalName(name);
    const labels = n === this.domain ? [] : n.slice(0, -this.domain.length - 1).split(".");
    // Read from the right: [], ["svc"], [ns, "svc"], [svc, ns, "svc"], [host, …], [_port, _proto, …].
    if (labels.length === 0) return noData();
    if (labels.length > 5 || labels.at(-1) !== "svc") return { kind: "nxdomain" };
    if (labels.length < 3) return noData();
    const [svcName, ns] = labels.slice(-3, -1) as [string, string];
    const key = `${ns}/${svcName}`;
    const service = this.source.service(key);
    if (!service) return { kind: "nxdomain" };
    const serviceName = `${svcName}.${ns}.svc.${this.domain}`;
    const spec = service.spec ?? {};

    if (spec.type === "ExternalName") {
      if (labels.length !== 3) return { kind: "nxdomain" };
      const target = canonicalName(spec.externalName ?? "");
      const answers: DnsRecord[] = [{ type: "CNAME", name, target }];
      if (type !== "CNAME" && this.inDomain(target) && target !== n) {
        const chased = this.lookup(target, type);
        // The target's own CNAME is not followed further: no loops between two ExternalNames.
        if (chased.kind === "answer") answers.push(...chased.answers.filter((r) => r.type !== "CNAME"));
      }
      return { kind: "answer", answers, additionals: [] };
    }

    const headless = spec.clusterIP === "None";
    const endpoints = headless ? headlessEndpoints(this.source.endpoints(key)) : [];
    const aOf = (ip: string, recordName: string): DnsRecord => ({ type: "A", name: recordName, ip });

    if (labels.length === 3) {
      if (type !== "A") return noData();
      const ips = headless ? [...new Set(endpoints.map((e) => e.ip))].sort() : [spec.clusterIP ?? ""];
      return { kind: "answer", answers: ips.filter(Boolean).map((ip) => aOf(ip, name)), additionals: [] };
    }

    const first = labels[0]!;
    if (labels.length === 4) {
      // `_tcp.SVC…` holds nothing itself but has SRV names beneath it.
      if (first.startsWith("_")) {
        const protocol = first.slice(1).toUpperCase();
        return (spec.ports ?? []).some((p) => p.name && (p.protocol ?? "TCP") === protocol)
          ? noData()
          : { kind: "nxdomain" };
      }
      const matches = endpoints.filter((e) => e.host === first);
      if (matches.length === 0) return { kind: "nxdomain" };
      if (type !== "A") return noData();
      const ips = [...new Set(matches.map((e) => e.ip))].sort();
      return { kind: "answer", answers: ips.map((ip) => aOf(ip, name)), additionals: [] };
    }

    // Five labels: `_PORT._PROTO.SVC.NS.svc`.
    const [portLabel, protoLabel] = labels as [string, string];
    if (!portLabel.startsWith("_") || !protoLabel.startsWith("_")) return { kind: "nxdomain" };
    const portName = portLabel.slice(1);
    const protocol = protoLabel.slice(1).toUpperCase();
    const port = (spec.ports ?? []).find((p) => p.name === portName && (p.protocol ?? "TCP") === protocol);
    if (!port) return { kind: "nxdomain" };
    if (type !== "SRV") return noData();
    if (!headless) {
      return {
        kind: "answer",
        answers: [{ type: "SRV", name, priority: 0, weight: 100, port: port.port ?? 0, target: serviceName }],
        additionals: spec.clusterIP ? [aOf(spec.clusterIP, serviceName)] : [],
      };
    }
    const serving = endpoints.filter((e) => e.ports.get(portName)?.protocol === protocol);
    // CoreDNS's weights: the 100 shared evenly, rounded down (3 endpoints → 33 each).
    const weight = Math.floor(100 / Math.max(serving.length, 1));
    const answers: DnsRecord[] = [];
    const additionals: DnsRecord[] = [];
    for (const e of serving) {
      const target = `${e.host}.${serviceName}`;
      answers.push({ type: "SRV", name, priority: 0, weight, port: e.ports.get(portName)!.port, target });
      additionals.push(aOf(e.ip, target));
    }
    return { kind: "answer", answers, additionals };
  }
}

/**
 * The ready IPv4 addresses of a headless Service's Endpoints, sorted by address, each with its DNS
 * label: the Endpoints entry's hostname, else the address with dashes (`10-244-1-5`).
 */
function headlessEndpoints(ep: DeepReadonly<Endpoints> | undefined): HeadlessEndpoint[] {
  const byKey = new Map<string, HeadlessEndpoint>();
  for (const subset of ep?.subsets ?? []) {
    for (const a of subset.addresses ?? []) {
      if (!a.ip || a.ip.includes(":")) continue;
      const host = a.hostname ? a.hostname.toLowerCase() : a.ip.replaceAll(".", "-");
      const id = `${a.ip}/${host}`;
      let entry = byKey.get(id);
      if (!entry) {
        entry = { ip: a.ip, host, ports: new Map() };
        byKey.set(id, entry);
      }
      for (const p of subset.ports ?? []) {
        if (p.name && p.port) entry.ports.set(p.name, { port: p.port, protocol: p.protocol ?? "TCP" });
      }
    }
  }
  return [...byKey.values()].sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : a.host < b.host ? -1 : 1));
}
