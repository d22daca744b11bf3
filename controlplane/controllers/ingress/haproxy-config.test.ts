import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Ingress, Secret, Service, ServicePort } from "../../../proto/gen/api.js";
import { renderHaproxyConfig } from "./haproxy-config.js";
import { buildRoutingTable, type RouteSources } from "./routes.js";

const svc = (name: string, ip: string, ports: ServicePort[]): Service => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: "shop" },
  spec: { clusterIP: ip, ports },
});

let serial = 0;
function ing(spec: NonNullable<Ingress["spec"]>, created = "2026-01-01T00:00:00Z"): Ingress {
  serial++;
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: `ing-${serial}`, namespace: "shop", creationTimestamp: created },
    spec,
  };
}

const tlsSecret = (name: string, type = "kubernetes.io/tls"): Secret => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name, namespace: "shop" },
  type,
  data: {
    "tls.crt": Buffer.from("-----BEGIN CERTIFICATE-----\nCRT\n-----END CERTIFICATE-----\n").toString(
      "base64",
    ),
    "tls.key": Buffer.from("-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n").toString(
      "base64",
    ),
  },
});

const services = [
  svc("web", "10.96.0.10", [{ name: "http", port: 80 }]),
  svc("api", "10.96.0.11", [{ port: 8080 }]),
];

function sources(ingresses: Ingress[], secrets: Secret[] = []): RouteSources {
  return {
    ingresses,
    service: (ns, name) => services.find((s) => s.metadata.namespace === ns && s.metadata.name === name),
    secret: (ns, name) => secrets.find((s) => s.metadata.namespace === ns && s.metadata.name === name),
  };
}

const to = (name: string, port: number | string) => ({
  service: { name, port: typeof port === "number" ? { number: port } : { name: port } },
});
const path = (p: string | undefined, pathType: string, backend = to("web", 80)) => ({
  ...(p !== undefined ? { path: p } : {}),
  pathType,
  backend,
});

/** The frontend's routing lines, the part every case is about. */
const useLines = (ingresses: Ingress[], secrets: Secret[] = []) =>
  renderHaproxyConfig(buildRoutingTable(sources(ingresses, secrets)))
    .config.split("\n")
    .filter((l) => /^\s+(use_backend|default_backend|bind)/.test(l))
    .map((l) => l.trim());

describe("rendered routing rules", () => {
  it.each<[string, Ingress[], string[]]>([
    [
      "a host with Prefix / routes every path of that host",
      [ing({ rules: [{ host: "shop.example", http: { paths: [path("/", "Prefix")] } }] })],
      [
        "bind :80",
        "use_backend be_shop_web_80 if { var(txn.host) -m str shop.example }",
        "default_backend be_default_404",
      ],
    ],
    [
      "Prefix matches whole path elements; Exact only itself, and before Prefix",
      [
        ing({
          rules: [
            {
              host: "shop.example",
              http: {
                paths: [path("/cart/", "Prefix", to("api", 8080)), path("/cart", "Exact", to("web", "http"))],
              },
            },
          ],
        }),
      ],
      [
        "bind :80",
        "use_backend be_shop_web_http if { var(txn.host) -m str shop.example } { path /cart }",
        "use_backend be_shop_api_8080 if { var(txn.host) -m str shop.example } { path /cart } or { var(txn.host) -m str shop.example } { path_beg /cart/ }",
        "default_backend be_default_404",
      ],
    ],
    [
      "named hosts before wildcards before any host, longer prefixes first, ImplementationSpecific as Prefix",
      [
        ing({
          rules: [
            { http: { paths: [path(undefined, "ImplementationSpecific")] } },
            { host: "*.example", http: { paths: [path("/", "Prefix", to("api", 8080))] } },
            {
              host: "a.example",
              http: { paths: [path("/a", "Prefix"), path("/a/b", "Prefix", to("api", 8080))] },
            },
          ],
        }),
      ],
      [
        "bind :80",
        "use_backend be_shop_api_8080 if { var(txn.host) -m str a.example } { path /a/b } or { var(txn.host) -m str a.example } { path_beg /a/b/ }",
        "use_backend be_shop_web_80 if { var(txn.host) -m str a.example } { path /a } or { var(txn.host) -m str a.example } { path_beg /a/ }",
        "use_backend be_shop_api_8080 if { var(txn.host) -m reg ^[^.]+\\.example$ }",
        "use_backend be_shop_web_80 if TRUE",
        "default_backend be_default_404",
      ],
    ],
    [
      "the older Ingress wins a route and the default backend two Ingresses both claim",
      [
        ing(
          {
            defaultBackend: to("api", 8080),
            rules: [{ host: "a.example", http: { paths: [path("/", "Prefix", to("api", 8080))] } }],
          },
          "2026-02-01T00:00:00Z",
        ),
        ing(
          {
            defaultBackend: to("web", 80),
            rules: [{ host: "a.example", http: { paths: [path("/", "Prefix")] } }],
          },
          "2026-01-01T00:00:00Z",
        ),
      ],
      [
        "bind :80",
        "use_backend be_shop_web_80 if { var(txn.host) -m str a.example }",
        "default_backend be_shop_web_80",
      ],
    ],
    [
      "TLS adds the 443 bind over the crt-list",
      [ing({ tls: [{ hosts: ["s.example"], secretName: "s-tls" }], defaultBackend: to("web", 80) })],
      ["bind :80", "bind :443 ssl crt-list /etc/haproxy/certs/crt-list", "default_backend be_shop_web_80"],
    ],
  ])("%s", (_, ingresses, want) => {
    expect(useLines(ingresses, [tlsSecret("s-tls")])).toEqual(want);
  });

  it("writes one PEM per TLS Secret and binds it to its SNI hosts", () => {
    const rendered = renderHaproxyConfig(
      buildRoutingTable(
        sources(
          [
            ing({ tls: [{ hosts: ["s.example"], secretName: "s-tls" }], defaultBackend: to("web", 80) }),
            ing({ tls: [{ hosts: ["t.example"], secretName: "s-tls" }], defaultBackend: to("web", 80) }),
          ],
          [tlsSecret("s-tls")],
        ),
      ),
    );
    expect(Object.keys(rendered.certificates)).toEqual(["shop_s-tls.pem", "crt-list"]);
    expect(rendered.certificates["crt-list"]).toBe("/etc/haproxy/certs/shop_s-tls.pem s.example t.example\n");
    expect(rendered.certificates["shop_s-tls.pem"]).toMatch(/CERTIFICATE-----\n-----BEGIN PRIVATE KEY/);
  });
});

describe("what cannot be served", () => {
  it.each<[string, Ingress, Secret[], string[], string]>([
    [
      "a missing Service: reported, its route kept with an empty backend (503)",
      ing({ rules: [{ host: "a.example", http: { paths: [path("/", "Prefix", to("gone", 80))] } }] }),
      [],
      ["ServiceNotFound: Service shop/gone not found"],
      "backend be_shop_gone_80\n",
    ],
    [
      "a port the Service does not have",
      ing({ defaultBackend: to("web", 81) }),
      [],
      ["ServicePortNotFound: Service shop/web has no port 81"],
      "backend be_shop_web_81\n",
    ],
    [
      "a TLS Secret of the wrong type: no certificate, no 443 bind",
      ing({ defaultBackend: to("web", 80), tls: [{ secretName: "opaque" }] }),
      [tlsSecret("opaque", "Opaque")],
      ["InvalidSecret: TLS Secret shop/opaque is of type Opaque, want kubernetes.io/tls"],
      "frontend ingress\n  bind :80\n  http-request",
    ],
    [
      "a missing TLS Secret",
      ing({ defaultBackend: to("web", 80), tls: [{ secretName: "nope" }] }),
      [],
      ["SecretNotFound: TLS Secret shop/nope not found"],
      "frontend ingress\n  bind :80\n  http-request",
    ],
  ])("%s", (_, ingress, secrets, problems, inConfig) => {
    const table = buildRoutingTable(sources([ingress], secrets));
    expect(table.problems.map((p) => `${p.reason}: ${p.message}`)).toEqual(problems);
    expect(table.problems.every((p) => p.ingress === ingress)).toBe(true);
    const { config, certificates } = renderHaproxyConfig(table);
    expect(config).toContain(inConfig);
    if (problems[0]!.includes("Secret")) expect(certificates).toEqual({});
  });

  it("never writes a path that could inject haproxy configuration", () => {
    // An Ingress author must not reach the proxy's config beyond routes: a newline or a brace in a
    // path would otherwise start a line or close the condition.
    const evil = ing({
      rules: [
        {
          host: "a.example",
          http: {
            paths: [
              path("/x }\n  server pwn 192.0.2.66:22\n  use_backend be_shop_api_8080 if { path /y", "Prefix"),
              path("/a b", "Exact"),
              path("/ok", "Exact"),
            ],
          },
        },
      ],
    });
    const table = buildRoutingTable(sources([evil]));
    const { config } = renderHaproxyConfig(table);
    expect(config).not.toContain("pwn");
    expect(config).not.toContain("/a b");
    expect(config).toContain("{ path /ok }");
    expect(table.problems.map((p) => p.reason)).toEqual(["InvalidPath", "InvalidPath"]);
  });
});

describe("haproxy accepts the rendered config", () => {
  const dir = mkdtempSync(join(tmpdir(), "ingress-haproxy-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("passes `haproxy -c` with host and path rules, a wildcard, a 503 backend and TLS", () => {
    // A real key and certificate, since haproxy loads them while checking.
    const key = join(dir, "k.pem");
    const crt = join(dir, "c.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        key,
        "-out",
        crt,
        "-days",
        "1",
        "-subj",
        "/CN=s.example",
      ],
      { stdio: "ignore" },
    );
    const secret = tlsSecret("s-tls");
    secret.data = {
      "tls.crt": execFileSync("base64", ["-w0", crt]).toString(),
      "tls.key": execFileSync("base64", ["-w0", key]).toString(),
    };
    const rendered = renderHaproxyConfig(
      buildRoutingTable(
        sources(
          [
            ing({
              tls: [{ hosts: ["s.example"], secretName: "s-tls" }],
              rules: [
                { host: "s.example", http: { paths: [path("/", "Prefix")] } },
                {
                  host: "*.example",
                  http: {
                    paths: [path("/api", "Exact", to("api", 8080)), path("/x", "Prefix", to("gone", 80))],
                  },
                },
              ],
            }),
          ],
          [secret],
        ),
      ),
    );
    const certs = join(dir, "certs");
    execFileSync("mkdir", ["-p", certs]);
    for (const [name, text] of Object.entries(rendered.certificates))
      writeFileSync(join(certs, name), text.replaceAll("/etc/haproxy/certs", certs));
    const cfg = join(dir, "haproxy.cfg");
    writeFileSync(cfg, rendered.config.replaceAll("/etc/haproxy/certs", certs));
    expect(execFileSync("haproxy", ["-c", "-f", cfg], { encoding: "utf8" })).toContain(
      "Configuration file is valid",
    );
  });
});
