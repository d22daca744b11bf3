/**
 * The answers of the cluster DNS, as a pure lookup over Service and Endpoints caches: which name
 * exists in the cluster domain and what it holds. It knows names, not packets (dns-server.ts encodes).
 *
 * Names served (with the default domain `cluster.local`):
 * - `NAME.NAMESPACE.svc.cluster.local` A: the Service's ClusterIP; for a headless Service
 *   (`clusterIP: None`) the ready addresses of its Endpoints, one record each.
 * - The names above it (`NAMESPACE.svc.cluster.local`, `svc.cluster.local`, `cluster.local`) exist
 *   but hold no records, so resolvers get "no data" rather than "no such name".
 * Shorter names (`NAME`, `NAME.NAMESPACE`, `NAME.NAMESPACE.svc`) are completed by the pod's
 * resolv.conf search list; this lookup sees only full names. A name outside the domain is refused:
 * the cluster DNS never forwards a query anywhere.
 */
import type { Endpoints, Service } from "../../proto/gen/api.js";
import { dns1123SubdomainErrors } from "../api/labels.js";
import type { DeepReadonly } from "../client/index.js";

/** What the lookup reads: Services and Endpoints by `namespace/name`, and whether the caches are filled. */
export interface ClusterDnsSource {
  service(key: string): DeepReadonly<Service> | undefined;
  endpoints(key: string): DeepReadonly<Endpoints> | undefined;
  /** False until the caches hold a full list; queries are answered SERVFAIL until then. */
  ready(): boolean;
}

export type LookupResult =
  /** The name exists; `addresses` may be empty (no records of the asked type). */
  | { kind: "answer"; addresses: string[] }
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
  const d = domain.toLowerCase().replace(/\.$/, "");
  const errors = d === "" ? ["must not be empty"] : dns1123SubdomainErrors(d);
  if (errors.length > 0) throw new ClusterDomainError(domain, errors.join("; "));
  return d;
}

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
    const n = name.toLowerCase().replace(/\.$/, "");
    return n === this.domain || n.endsWith(`.${this.domain}`);
  }

  /** The IPv4 addresses `name` holds (A records). */
  lookupA(name: string): LookupResult {
    if (!this.inDomain(name)) return { kind: "refused" };
    if (!this.source.ready()) return { kind: "unavailable" };
    const n = name.toLowerCase().replace(/\.$/, "");
    const labels = n === this.domain ? [] : n.slice(0, -this.domain.length - 1).split(".");
    const empty: LookupResult = { kind: "answer", addresses: [] };
    // Read from the right: [], ["svc"], [namespace, "svc"], [service, namespace, "svc"].
    if (labels.length === 0) return empty;
    if (labels.length > 3 || labels.at(-1) !== "svc") return { kind: "nxdomain" };
    if (labels.length < 3) return empty;
    const key = `${labels[1]}/${labels[0]}`;
    const service = this.source.service(key);
    if (!service) return { kind: "nxdomain" };
    const clusterIP = service.spec?.clusterIP;
    if (clusterIP && clusterIP !== "None") return { kind: "answer", addresses: [clusterIP] };
    return { kind: "answer", addresses: readyAddresses(this.source.endpoints(key)) };
  }

  /** Whether `name` exists (for record types other than A, which it answers with no data). */
  exists(name: string): LookupResult {
    const result = this.lookupA(name);
    return result.kind === "answer" ? { kind: "answer", addresses: [] } : result;
  }
}

/** The ready IPv4 addresses of an Endpoints, each once, sorted. */
function readyAddresses(ep: DeepReadonly<Endpoints> | undefined): string[] {
  const ips = new Set<string>();
  for (const subset of ep?.subsets ?? []) {
    for (const a of subset.addresses ?? []) if (a.ip && !a.ip.includes(":")) ips.add(a.ip);
  }
  return [...ips].sort();
}
