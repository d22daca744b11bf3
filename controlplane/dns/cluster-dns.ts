/**
 * The cluster DNS in one call: answers from the shared Service and Endpoints informers, served over
 * UDP and TCP on one address and port. `startClusterDns` is what the integrator runs.
 */
import type { Registry } from "prom-client";
import type { KubeObject } from "../../foundation/api/object.js";
import { resourceForKind } from "../../foundation/api/resources.js";
import type { Endpoints, Service } from "../../proto/gen/api.js";
import type { InformerFactory } from "../client/informer-factory.js";
import { type ClusterDnsSource, ClusterRecords } from "./cluster-records.js";
import { newResponder } from "./dns-messages.js";
import { type RunningDnsServer, startDnsServer } from "./dns-server.js";

export const defaultClusterDomain = "cluster.local";
/** Time to live of every answer: short, so a changed Service is seen within seconds (CoreDNS uses 5 too). */
export const defaultDnsTtlSeconds = 5;

export interface ClusterDnsOptions {
  /** Shared informers; the Service and Endpoints ones are taken (and started if the factory runs). */
  informers: Pick<InformerFactory, "informer">;
  /** Where to listen, e.g. the node's bridge gateway or the control plane's address. */
  address: string;
  /** 53 in a cluster; 0 picks a free port (tests). */
  port: number;
  /** Default "cluster.local". */
  domain?: string;
  ttlSeconds?: number;
  metrics?: Registry;
}

/** The lookup source over the shared informers' caches. */
export function informerDnsSource(informers: Pick<InformerFactory, "informer">): ClusterDnsSource {
  const services = informers.informer<Service & KubeObject>(resourceForKind("v1", "Service")!);
  const endpoints = informers.informer<Endpoints & KubeObject>(resourceForKind("v1", "Endpoints")!);
  return {
    service: (key) => services.lister.get(key),
    endpoints: (key) => endpoints.lister.get(key),
    ready: () => services.hasSynced() && endpoints.hasSynced(),
  };
}

/**
 * Starts serving. Throws ClusterDomainError for a bad domain, RangeError for a bad port and
 * DnsBindError when the address or port cannot be bound. Queries get SERVFAIL until both caches
 * have synced.
 */
export async function startClusterDns(opts: ClusterDnsOptions): Promise<RunningDnsServer> {
  const records = new ClusterRecords(informerDnsSource(opts.informers), opts.domain ?? defaultClusterDomain);
  return startDnsServer({
    responder: newResponder(records, opts.ttlSeconds ?? defaultDnsTtlSeconds),
    address: opts.address,
    port: opts.port,
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
  });
}
