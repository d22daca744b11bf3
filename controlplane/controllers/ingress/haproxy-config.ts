/**
 * Renders a routing table (routes.ts) as haproxy.cfg plus the files of the certificates Secret
 * (one PEM per TLS Secret and the crt-list that binds each to its SNI names). The text is a pure
 * function of the table, so an unchanged table rewrites nothing and reloads nothing.
 *
 * Matching follows upstream's Ingress semantics: hosts compare without port and case, `*.x` stands
 * for exactly one label, an Exact path matches only itself, and a Prefix matches whole path
 * elements (`/cart` matches `/cart` and `/cart/x`, never `/carts`).
 */

import type { Route, RoutingTable } from "./routes.js";

/** Where the haproxy pods mount the certificates Secret (the image's entrypoint watches it). */
export const certificatesDir = "/etc/haproxy/certs";
export const crtListFile = "crt-list";
export const configFile = "haproxy.cfg";
export const defaultBackendId = "be_default_404";

export interface RenderedConfig {
  /** haproxy.cfg. */
  config: string;
  /** File name to content, for the certificates Secret; empty without TLS. */
  certificates: Record<string, string>;
}

const regexEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function hostCondition(host: string): string | undefined {
  if (host === "") return undefined;
  if (host.startsWith("*.")) return `{ var(txn.host) -m reg ^[^.]+${regexEscape(host.slice(1))}$ }`;
  return `{ var(txn.host) -m str ${host} }`;
}

/** The conditions of one route, as alternatives of haproxy's `if` (joined by `or`). */
function routeConditions(r: Route): string[] {
  const host = hostCondition(r.host);
  const both = (path: string | undefined) => [host, path].filter(Boolean).join(" ");
  if (r.pathType === "Exact") return [both(`{ path ${r.path} }`)];
  if (r.path === "/") return [host ?? "TRUE"];
  return [both(`{ path ${r.path} }`), both(`{ path_beg ${r.path}/ }`)];
}

export function renderHaproxyConfig(table: RoutingTable): RenderedConfig {
  const tls = table.certificates.length > 0;
  const lines = [
    "# Rendered by the kctl ingress controller from Ingress objects; edits are overwritten.",
    "global",
    "  master-worker",
    "  log stdout format raw local0 info",
    "",
    "defaults",
    "  mode http",
    "  log global",
    "  option httplog",
    "  option forwardfor",
    "  timeout connect 5s",
    "  timeout client 60s",
    "  timeout server 60s",
    "  timeout http-request 10s",
    "",
    "frontend ingress",
    "  bind :80",
  ];
  if (tls) lines.push(`  bind :443 ssl crt-list ${certificatesDir}/${crtListFile}`);
  lines.push("  http-request set-var(txn.host) req.hdr(host),field(1,:),lower");
  for (const r of table.routes)
    lines.push(`  use_backend ${r.backend} if ${routeConditions(r).join(" or ")}`);
  lines.push(`  default_backend ${table.defaultBackend ?? defaultBackendId}`);
  for (const b of table.backends) {
    lines.push("", `backend ${b.id}`);
    // Without a server haproxy answers 503, which is what an unresolved backend should say.
    if (b.server) lines.push(`  server s1 ${b.server}`);
  }
  if (table.defaultBackend === undefined) {
    lines.push(
      "",
      `backend ${defaultBackendId}`,
      '  http-request return status 404 content-type text/plain string "no Ingress rule matches\\n"',
    );
  }
  const certificates: Record<string, string> = {};
  for (const c of table.certificates) certificates[c.file] = c.pem;
  if (tls) {
    certificates[crtListFile] = table.certificates
      .map((c) => [`${certificatesDir}/${c.file}`, ...c.hosts].join(" "))
      .join("\n")
      .concat("\n");
  }
  return { config: `${lines.join("\n")}\n`, certificates };
}
