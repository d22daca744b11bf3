/**
 * The Services every cluster has, as in Kubernetes: `default/kubernetes` (the apiserver, at the
 * first address of the service CIDR) and `kube-system/kube-dns` (the cluster DNS, at the tenth).
 * Neither has a selector: their Endpoints point at this control plane and are written here, so
 * the node proxies route to them like to any other Service.
 */

import { isApiError } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { resourceForKind } from "../../foundation/api/resources.js";
import { formatIPv4, nthAddress, parseCidr } from "../../foundation/util/ipv4.js";
import type { Endpoints, Service } from "../../proto/gen/api.js";
import type { Registry } from "../registry/index.js";

const services = resourceForKind("v1", "Service")!;
const endpoints = resourceForKind("v1", "Endpoints")!;

export function systemServiceIPs(serviceCidr: string): { kubernetes: string; dns: string } {
  const cidr = parseCidr(serviceCidr);
  return { kubernetes: formatIPv4(nthAddress(cidr, 1)), dns: formatIPv4(nthAddress(cidr, 10)) };
}

/** How often, and how far apart, a control plane that lost a start-up race tries again. */
export interface RaceRetry {
  attempts: number;
  delayMs: number;
}
const defaultRaceRetry: RaceRetry = { attempts: 10, delayMs: 200 };

/**
 * Several control planes start at once and each writes these objects: one that loses a race
 * (AlreadyExists on a create, Conflict on an update, or its Service's ClusterIP "already
 * allocated" to the same Service made a moment ago) reads again and retries. The winner claims
 * the ClusterIP a moment before it writes the Service, and on a loaded host that moment can outlast
 * retries made back to back, so they back off (0.2 s, 0.4 s, ..., about 9 s in all).
 */
async function ensure(registry: Registry, svc: Service, eps: Endpoints, retry: RaceRetry): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ensureOnce(registry, svc, eps);
    } catch (err) {
      const lostRace = (["Conflict", "AlreadyExists", "Invalid"] as const).some((r) => isApiError(err, r));
      if (attempt >= retry.attempts || !lostRace) throw err;
      await new Promise((r) => setTimeout(r, retry.delayMs * attempt));
    }
  }
}

async function ensureOnce(registry: Registry, svc: Service, eps: Endpoints): Promise<void> {
  const ns = svc.metadata.namespace;
  // Look first: a create of an existing Service fails on its taken ClusterIP before its name.
  const existing = await registry.get(services, ns, svc.metadata.name ?? "").catch((err: unknown) => {
    if (isApiError(err, "NotFound")) return undefined;
    throw err;
  });
  if (!existing) await registry.create(services, svc as KubeObject);
  try {
    await registry.create(endpoints, eps as KubeObject);
  } catch (err) {
    if (!isApiError(err, "AlreadyExists")) throw err;
    const current = await registry.get(endpoints, ns, eps.metadata.name ?? "");
    await registry.update(endpoints, ns, eps.metadata.name ?? "", {
      ...eps,
      metadata: { ...eps.metadata, resourceVersion: current.metadata.resourceVersion },
    });
  }
}

export async function ensureSystemServices(
  registry: Registry,
  opts: { serviceCidr: string; apiAddress: string; apiPort: number; dnsAddress: string; dnsPort: number },
  retry: RaceRetry = defaultRaceRetry,
): Promise<void> {
  const ips = systemServiceIPs(opts.serviceCidr);
  await ensure(
    registry,
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        name: "kubernetes",
        namespace: "default",
        labels: { component: "apiserver", provider: "kubernetes" },
      },
      spec: {
        clusterIP: ips.kubernetes,
        ports: [{ name: "https", port: 443, targetPort: opts.apiPort, protocol: "TCP" }],
      },
    },
    {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "kubernetes", namespace: "default" },
      subsets: [
        {
          addresses: [{ ip: opts.apiAddress }],
          ports: [{ name: "https", port: opts.apiPort, protocol: "TCP" }],
        },
      ],
    },
    retry,
  );
  await ensure(
    registry,
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "kube-dns", namespace: "kube-system", labels: { "k8s-app": "kube-dns" } },
      spec: {
        clusterIP: ips.dns,
        ports: [
          { name: "dns", port: 53, targetPort: opts.dnsPort, protocol: "UDP" },
          { name: "dns-tcp", port: 53, targetPort: opts.dnsPort, protocol: "TCP" },
        ],
      },
    },
    {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "kube-dns", namespace: "kube-system" },
      subsets: [
        {
          addresses: [{ ip: opts.dnsAddress }],
          ports: [
            { name: "dns", port: opts.dnsPort, protocol: "UDP" },
            { name: "dns-tcp", port: opts.dnsPort, protocol: "TCP" },
          ],
        },
      ],
    },
    retry,
  );
}
