/**
 * The routing table of the ingress controller, as a pure function of the Ingresses it serves and
 * the Services and Secrets they name: routes in match order, one backend per Service port, the
 * default backend and the TLS certificates. What cannot be served (a missing Service or port, a
 * Secret that is not `kubernetes.io/tls`) comes back as a problem to report on the Ingress; the
 * route stays, answering 503, so a typo never sends a host's traffic to another host's backend.
 *
 * Backends are the Services' cluster IPs (ingress-nginx's `service-upstream`): the node proxy
 * follows endpoint changes, so a rolling update never changes the rendered config.
 */

import { objectKey } from "../../../foundation/api/object.js";
import type { Ingress, IngressBackend, Secret, Service } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";

export interface Route {
  /** "" for a rule without host (any host). */
  host: string;
  pathType: "Exact" | "Prefix";
  /** Prefix paths without a trailing slash, except "/". */
  path: string;
  backend: string;
}

export interface Backend {
  id: string;
  /** `clusterIP:port`; absent when the Service or port cannot be resolved (haproxy answers 503). */
  server?: string;
}

export interface Certificate {
  /** File name in the certificates Secret. */
  file: string;
  /** PEM: certificate chain then key. */
  pem: string;
  /** SNI names it is served for; empty for every name its certificate holds. */
  hosts: string[];
}

export interface Problem {
  ingress: DeepReadonly<Ingress>;
  reason: "ServiceNotFound" | "ServicePortNotFound" | "SecretNotFound" | "InvalidSecret" | "InvalidPath";
  message: string;
}

export interface RoutingTable {
  routes: Route[];
  backends: Backend[];
  defaultBackend?: string;
  certificates: Certificate[];
  problems: Problem[];
}

export interface RouteSources {
  /** The Ingresses this controller serves (of its class). */
  ingresses: readonly DeepReadonly<Ingress>[];
  service(namespace: string, name: string): DeepReadonly<Service> | undefined;
  secret(namespace: string, name: string): DeepReadonly<Secret> | undefined;
}

/**
 * RFC 3986 path characters less those haproxy's config parser treats specially (quotes, `\\`, `#`,
 * `$`, whitespace): the API accepts any path, and a path is written into haproxy.cfg unquoted.
 */
const safePath = /^[A-Za-z0-9/._~%!&()*+,;=:@-]*$/;

const age = (ing: DeepReadonly<Ingress>) => `${ing.metadata.creationTimestamp ?? ""}\0${objectKey(ing)}`;

/** Upstream's precedence: named hosts before wildcards before any host; Exact before Prefix; longer prefixes first. */
function rank(r: Route): [number, string, number, number] {
  const hostClass = r.host === "" ? 2 : r.host.startsWith("*.") ? 1 : 0;
  return [hostClass, r.host, r.pathType === "Exact" ? 0 : 1, -r.path.length];
}

function compareRoutes(a: Route, b: Route): number {
  const [x, y] = [rank(a), rank(b)];
  for (let i = 0; i < x.length; i++) {
    if (x[i]! < y[i]!) return -1;
    if (x[i]! > y[i]!) return 1;
  }
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

function normalisePath(
  pathType: string | undefined,
  path: string | undefined,
): Pick<Route, "pathType" | "path"> {
  // ImplementationSpecific is served as Prefix, the reading upstream's conformance tests accept.
  if (pathType === "Exact") return { pathType: "Exact", path: path ?? "/" };
  const p = path || "/";
  return { pathType: "Prefix", path: p.length > 1 && p.endsWith("/") ? p.replace(/\/+$/, "") || "/" : p };
}

/**
 * Builds the table. Of two Ingresses routing the same host, path type and path, the older (then
 * the first by key) wins, as ingress-nginx resolves it; likewise for the default backend.
 */
export function buildRoutingTable(src: RouteSources): RoutingTable {
  const ingresses = [...src.ingresses].sort((a, b) => (age(a) < age(b) ? -1 : age(a) > age(b) ? 1 : 0));
  const backends = new Map<string, Backend>();
  const problems: Problem[] = [];

  const backendFor = (ing: DeepReadonly<Ingress>, b: DeepReadonly<IngressBackend>): string => {
    const ns = ing.metadata.namespace ?? "default";
    const name = b.service?.name ?? "";
    const port = b.service?.port?.name || String(b.service?.port?.number ?? "");
    const id = `be_${ns}_${name}_${port}`;
    if (backends.has(id)) return id;
    const svc = src.service(ns, name);
    const backend: Backend = { id };
    backends.set(id, backend);
    if (!svc) {
      problems.push({ ingress: ing, reason: "ServiceNotFound", message: `Service ${ns}/${name} not found` });
      return id;
    }
    const sp = (svc.spec?.ports ?? []).find((p) =>
      b.service?.port?.name ? p.name === b.service.port.name : p.port === b.service?.port?.number,
    );
    const ip = svc.spec?.clusterIP;
    if (!sp?.port || !ip || ip === "None") {
      const why = !sp?.port ? `has no port ${port}` : "has no cluster IP";
      problems.push({ ingress: ing, reason: "ServicePortNotFound", message: `Service ${ns}/${name} ${why}` });
      return id;
    }
    backend.server = `${ip}:${sp.port}`;
    return id;
  };

  const routes: Route[] = [];
  let defaultBackend: string | undefined;
  const certificates: Certificate[] = [];
  for (const ing of ingresses) {
    const spec = ing.spec ?? {};
    if (spec.defaultBackend && defaultBackend === undefined)
      defaultBackend = backendFor(ing, spec.defaultBackend);
    for (const rule of spec.rules ?? []) {
      for (const p of rule.http?.paths ?? []) {
        if (!p.backend) continue;
        if (!safePath.test(p.path ?? "")) {
          const message = `path ${JSON.stringify(p.path)} has characters this controller does not route; the rule is skipped`;
          problems.push({ ingress: ing, reason: "InvalidPath", message });
          continue;
        }
        routes.push({
          host: rule.host ?? "",
          ...normalisePath(p.pathType, p.path),
          backend: backendFor(ing, p.backend),
        });
      }
    }
    for (const tls of spec.tls ?? []) {
      if (!tls.secretName) continue;
      const cert = certificate(src, ing, tls.secretName, problems);
      if (!cert) continue;
      const same = certificates.find((c) => c.file === cert.file);
      if (same) same.hosts.push(...(tls.hosts ?? []).filter((h) => !same.hosts.includes(h)));
      else certificates.push({ ...cert, hosts: [...(tls.hosts ?? [])] });
    }
  }
  // Stable sort: among equal routes the older Ingress's comes first and wins.
  routes.sort(compareRoutes);
  const seen = new Set<string>();
  const unique = routes.filter((r) => {
    const k = `${r.host} ${r.pathType} ${r.path}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return {
    routes: unique,
    backends: [...backends.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    ...(defaultBackend !== undefined ? { defaultBackend } : {}),
    certificates,
    problems,
  };
}

function certificate(
  src: RouteSources,
  ing: DeepReadonly<Ingress>,
  name: string,
  problems: Problem[],
): Omit<Certificate, "hosts"> | undefined {
  const ns = ing.metadata.namespace ?? "default";
  const secret = src.secret(ns, name);
  if (!secret) {
    problems.push({ ingress: ing, reason: "SecretNotFound", message: `TLS Secret ${ns}/${name} not found` });
    return undefined;
  }
  const type = secret.type ?? "Opaque";
  const crt = secret.data?.["tls.crt"];
  const key = secret.data?.["tls.key"];
  if (type !== "kubernetes.io/tls" || !crt || !key) {
    const why =
      type !== "kubernetes.io/tls"
        ? `is of type ${type}, want kubernetes.io/tls`
        : "lacks tls.crt or tls.key";
    problems.push({ ingress: ing, reason: "InvalidSecret", message: `TLS Secret ${ns}/${name} ${why}` });
    return undefined;
  }
  const text = (b64: string) => Buffer.from(b64, "base64").toString("utf8").trimEnd();
  return { file: `${ns}_${name}.pem`, pem: `${text(crt)}\n${text(key)}\n` };
}
