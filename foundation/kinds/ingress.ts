/** Ingress: HTTP(S) routes by host and path from outside the cluster to Services. */

import type { Ingress, IngressBackend, IngressLoadBalancerStatus, IngressRule } from "../../proto/gen/api.js";
import { validateIngress } from "../api/validation/ingress.js";
import { created, none } from "../printers/cells.js";
import { defineKind } from "./kind.js";

/**
 * kubectl's formatHosts: rule hosts until three are listed, then `+ N more...` where N counts every
 * rule past the third, with or without a host (as kubectl counts); `*` when no rule names a host.
 */
export function ingressHosts(rules: readonly IngressRule[] | undefined): string {
  const max = 3;
  const hosts: string[] = [];
  let more = false;
  for (const rule of rules ?? []) {
    if (hosts.length === max) more = true;
    if (!more && rule.host) hosts.push(rule.host);
  }
  if (hosts.length === 0) return "*";
  return more ? `${hosts.join(",")} + ${(rules?.length ?? 0) - max} more...` : hosts.join(",");
}

/** The sorted, de-duplicated addresses (IP, else hostname) the controller published. */
export function ingressAddress(lb: IngressLoadBalancerStatus | undefined): string {
  const addrs = new Set((lb?.ingress ?? []).map((i) => i.ip || i.hostname).filter((a): a is string => !!a));
  return [...addrs].sort().join(",");
}

/** A backend as kubectl describes it: `service:port`, or the refused resource's kind/name. */
export function backendText(b: IngressBackend): string {
  if (b.resource)
    return `APIGroup: ${b.resource.apiGroup ?? ""}, Kind: ${b.resource.kind}, Name: ${b.resource.name}`;
  const port = b.service?.port?.name ?? String(b.service?.port?.number ?? "");
  return `${b.service?.name ?? ""}:${port}`;
}

export const ingressKind = defineKind<Ingress>({
  resource: {
    group: "networking.k8s.io",
    version: "v1",
    kind: "Ingress",
    plural: "ingresses",
    singular: "ingress",
    shortNames: ["ing"],
    namespaced: true,
    subresources: ["status"],
    message: "kctl.api.Ingress",
    hasStatus: true,
  },
  validate: (c, ing) => validateIngress(c, ing),
  columns: {
    headers: ["CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"],
    cells: (ing, now) => [
      ing.spec?.ingressClassName || none,
      ingressHosts(ing.spec?.rules),
      ingressAddress(ing.status?.loadBalancer),
      ing.spec?.tls?.length ? "80, 443" : "80",
      created(ing, now),
    ],
  },
  // kubectl's describeIngressV1, without the endpoints it appends to each backend.
  describe: (w, ing) => {
    const spec = ing.spec ?? {};
    w.field(0, "Address", ingressAddress(ing.status?.loadBalancer) || " ");
    w.field(0, "Ingress Class", spec.ingressClassName || none);
    const fallback = spec.defaultBackend ? backendText(spec.defaultBackend) : "<default>";
    w.field(0, "Default backend", fallback);
    if (spec.tls?.length) {
      w.section(0, "TLS");
      for (const t of spec.tls) {
        const hosts = (t.hosts ?? []).join(",");
        w.text(2, t.secretName ? `${t.secretName} terminates ${hosts}` : `SNI routes ${hosts}`);
      }
    }
    const rows: string[][] = [];
    for (const rule of spec.rules ?? []) {
      if (!rule.http) continue;
      rows.push([rule.host || "*", "", ""]);
      for (const p of rule.http.paths ?? [])
        rows.push(["", p.path ?? "", p.backend ? backendText(p.backend) : ""]);
    }
    if (rows.length === 0) rows.push(["*", "*", fallback]);
    w.table(0, "Rules", ["Host", "Path", "Backends"], rows);
  },
});
