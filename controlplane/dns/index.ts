/**
 * Cluster DNS: `NAME.NAMESPACE.svc.cluster.local` to ClusterIPs (headless: ready pod IPs, per-pod
 * hostname records and SRV records for named ports; ExternalName: a CNAME), served
 * from informer caches over UDP and TCP, encoded by dns-packet. Authoritative for the cluster domain
 * only: it must never forward or recurse, and refuses every other name.
 */

export {
  type ClusterDnsOptions,
  defaultClusterDomain,
  defaultDnsTtlSeconds,
  informerDnsSource,
  startClusterDns,
} from "./cluster-dns.js";
export {
  type ClusterDnsSource,
  ClusterDomainError,
  ClusterRecords,
  type DnsRecord,
  type LookupResult,
  type RecordType,
} from "./cluster-records.js";
export { newResponder, type Rcode, type Reply, type Responder } from "./dns-messages.js";
export { DnsBindError, type RunningDnsServer, startDnsServer } from "./dns-server.js";
