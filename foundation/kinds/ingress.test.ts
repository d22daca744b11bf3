import { describe, expect, it } from "vitest";
import type { Ingress, IngressClass } from "../../proto/gen/api.js";
import type { KubeObject } from "../api/object.js";
import { resourceForKind } from "../api/resources.js";
import { DescribeWriter } from "../printers/describe-writer.js";
import { applyDefaults, validateObject } from "./index.js";
import { ingressHosts, ingressKind } from "./ingress.js";

const info = resourceForKind("networking.k8s.io/v1", "Ingress")!;
const classInfo = resourceForKind("networking.k8s.io/v1", "IngressClass")!;

function ingress(spec: Ingress["spec"], annotations?: Record<string, string>): Ingress & KubeObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "front", namespace: "shop", ...(annotations ? { annotations } : {}) },
    spec,
  } as Ingress & KubeObject;
}

const causes = (spec: Ingress["spec"], annotations?: Record<string, string>) =>
  validateObject(info, applyDefaults(info, ingress(spec, annotations))).map(
    (c) => `${c.field}: ${c.message}`,
  );

const web = { service: { name: "web", port: { number: 80 } } };

describe("Ingress validation", () => {
  it("accepts hosts, wildcard hosts, every pathType, named ports, TLS and a default backend", () => {
    expect(
      causes({
        ingressClassName: "haproxy",
        defaultBackend: web,
        tls: [{ hosts: ["shop.example", "*.example"], secretName: "shop-tls" }, { hosts: ["a.example"] }],
        rules: [
          {
            host: "shop.example",
            http: {
              paths: [
                { path: "/", pathType: "Prefix", backend: web },
                {
                  path: "/cart",
                  pathType: "Exact",
                  backend: { service: { name: "cart", port: { name: "http" } } },
                },
                { path: "/api/.*", pathType: "ImplementationSpecific", backend: web },
                { pathType: "ImplementationSpecific", backend: web },
              ],
            },
          },
          { host: "*.example", http: { paths: [{ path: "/", pathType: "Prefix", backend: web }] } },
        ],
      }),
    ).toEqual([]);
  });

  it.each<[string, Ingress["spec"], string[]]>([
    [
      "neither rules nor a default backend",
      {},
      ['spec: Invalid value: "": either `defaultBackend` or `rules` must be specified'],
    ],
    [
      "a Prefix path without a leading slash",
      { rules: [{ http: { paths: [{ path: "cart", pathType: "Prefix", backend: web }] } }] },
      ['spec.rules[0].http.paths[0].path: Invalid value: "cart": must be an absolute path'],
    ],
    [
      "an Exact path that climbs out with /../",
      { rules: [{ http: { paths: [{ path: "/a/../b", pathType: "Exact", backend: web }] } }] },
      ["spec.rules[0].http.paths[0].path: Invalid value: \"/a/../b\": must not contain '/../'"],
    ],
    [
      "an ImplementationSpecific path without a leading slash",
      { rules: [{ http: { paths: [{ path: "cart", pathType: "ImplementationSpecific", backend: web }] } }] },
      ['spec.rules[0].http.paths[0].path: Invalid value: "cart": must be an absolute path'],
    ],
    [
      "a path without pathType",
      { rules: [{ http: { paths: [{ path: "/", backend: web }] } }] },
      [
        'spec.rules[0].http.paths[0].pathType: Required value: supported values: "Exact", "ImplementationSpecific", "Prefix"',
      ],
    ],
    [
      "an unknown pathType",
      { rules: [{ http: { paths: [{ path: "/", pathType: "Regex", backend: web }] } }] },
      [
        'spec.rules[0].http.paths[0].pathType: Unsupported value: "Regex": supported values: "Exact", "ImplementationSpecific", "Prefix"',
      ],
    ],
    [
      "an IP as host",
      { rules: [{ host: "10.0.0.1", http: { paths: [{ path: "/", pathType: "Prefix", backend: web }] } }] },
      ['spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address'],
    ],
    [
      "an http rule without paths",
      { rules: [{ host: "a.example", http: {} }] },
      ["spec.rules[0].http.paths: Required value"],
    ],
    [
      "a resource backend",
      { defaultBackend: { resource: { kind: "StorageBucket", name: "assets" } } },
      ["spec.defaultBackend.resource: Forbidden: resource backends are not supported: use a service backend"],
    ],
    [
      "a backend without service",
      { defaultBackend: {} },
      ['spec.defaultBackend: Invalid value: "": one backend (resource or service) must be specified'],
    ],
    [
      "a service port with both name and number",
      { defaultBackend: { service: { name: "web", port: { name: "http", number: 80 } } } },
      ['spec.defaultBackend.service.port: Invalid value: "": cannot set both port name & port number'],
    ],
    [
      "a service without port and a bad name",
      { defaultBackend: { service: { name: "Web_1" } } },
      [
        "spec.defaultBackend.service.name: Invalid value: \"Web_1\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name', or 'abc-123')",
        "spec.defaultBackend.service.port: Required value: port name or number must be specified",
      ],
    ],
    [
      "a port number out of range",
      { defaultBackend: { service: { name: "web", port: { number: 70000 } } } },
      [
        "spec.defaultBackend.service.port.number: Invalid value: 70000: must be between 1 and 65535, inclusive",
      ],
    ],
    [
      "a TLS secret name that is no object name",
      { defaultBackend: web, tls: [{ secretName: "Shop_TLS" }] },
      [
        "spec.tls[0].secretName: Invalid value: \"Shop_TLS\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')",
      ],
    ],
  ])("refuses %s, naming the field", (_, spec, want) => {
    expect(causes(spec)).toEqual(want);
  });

  it("refuses the class annotation beside spec.ingressClassName", () => {
    expect(
      causes(
        { ingressClassName: "haproxy", defaultBackend: web },
        { "kubernetes.io/ingress.class": "nginx" },
      ),
    ).toEqual([
      'metadata.annotations[kubernetes.io/ingress.class]: Invalid value: "nginx": can not be set when the class field is also set',
    ]);
  });
});

describe("Ingress columns and describe", () => {
  const cells = (spec: Ingress["spec"], status?: Ingress["status"]) =>
    ingressKind.columns!.cells({ ...ingress(spec), status } as KubeObject, Date.now());

  it.each<[string, Ingress["spec"], string]>([
    ["no rules", { defaultBackend: web }, "*"],
    ["rules without hosts", { rules: [{}, {}] }, "*"],
    ["two hosts", { rules: [{ host: "a.x" }, { host: "b.x" }] }, "a.x,b.x"],
    // kubectl lists three hosts and counts every rule after the third, with or without a host.
    [
      "five rules, one without host",
      { rules: [{ host: "a.x" }, {}, { host: "b.x" }, { host: "c.x" }, { host: "d.x" }] },
      "a.x,b.x,c.x + 2 more...",
    ],
  ])("HOSTS with %s", (_, spec, want) => {
    expect(ingressHosts(spec?.rules)).toBe(want);
  });

  it("prints class, hosts, sorted unique addresses and the TLS ports as kubectl does", () => {
    const status = {
      loadBalancer: {
        ingress: [{ ip: "10.9.0.2" }, { hostname: "lb.example" }, { ip: "10.9.0.1" }, { ip: "10.9.0.2" }],
      },
    };
    expect(cells({ rules: [{ host: "a.x" }] }, status).slice(0, 4)).toEqual([
      "<none>",
      "a.x",
      "10.9.0.1,10.9.0.2,lb.example",
      "80",
    ]);
    expect(cells({ ingressClassName: "haproxy", defaultBackend: web, tls: [{}] }).slice(0, 4)).toEqual([
      "haproxy",
      "*",
      "",
      "80, 443",
    ]);
  });

  it("describes TLS and the rules table", () => {
    const w = new DescribeWriter();
    ingressKind.describe!(
      w,
      ingress({
        ingressClassName: "haproxy",
        tls: [{ hosts: ["a.x"], secretName: "a-tls" }],
        rules: [{ host: "a.x", http: { paths: [{ path: "/", pathType: "Prefix", backend: web }] } }],
      }),
      {},
    );
    expect(w.toString()).toBe(
      [
        "Address:",
        "Ingress Class:    haproxy",
        "Default backend:  <default>",
        "TLS:",
        "  a-tls terminates a.x",
        "Rules:",
        "  Host  Path  Backends",
        "  ----  ----  --------",
        // The writer pads table rows to the widest column, as kubectl's tabwriter does.
        "  a.x         ",
        "        /     web:80",
        "",
      ].join("\n"),
    );
  });
});

describe("IngressClass", () => {
  const cls = (spec: IngressClass["spec"]): IngressClass & KubeObject =>
    ({
      apiVersion: "networking.k8s.io/v1",
      kind: "IngressClass",
      metadata: { name: "haproxy" },
      spec,
    }) as IngressClass & KubeObject;
  const check = (spec: IngressClass["spec"], old?: IngressClass["spec"]) =>
    validateObject(classInfo, applyDefaults(classInfo, cls(spec)), old ? cls(old) : undefined).map(
      (c) => `${c.field}: ${c.message}`,
    );

  it("defaults the parameters' scope to Cluster and accepts a domain-prefixed controller", () => {
    const spec = { controller: "kctl.local/haproxy", parameters: { kind: "ConfigMap", name: "tuning" } };
    expect(check(spec)).toEqual([]);
    expect(applyDefaults(classInfo, cls(spec)).spec?.parameters?.scope).toBe("Cluster");
  });

  it.each<[string, IngressClass["spec"], IngressClass["spec"] | undefined, string[]]>([
    ["no controller", {}, undefined, ["spec.controller: Required value"]],
    [
      "a controller without domain",
      { controller: "haproxy" },
      undefined,
      ['spec.controller: Invalid value: "haproxy": must be a domain-prefixed path (such as "acme.io/foo")'],
    ],
    [
      "a changed controller",
      { controller: "kctl.local/haproxy" },
      { controller: "kctl.local/nginx" },
      ['spec.controller: Invalid value: "kctl.local/haproxy": field is immutable'],
    ],
    [
      "namespace-scoped parameters without namespace",
      { controller: "kctl.local/haproxy", parameters: { kind: "ConfigMap", name: "t", scope: "Namespace" } },
      undefined,
      ["spec.parameters.namespace: Required value: `parameters.scope` is set to 'Namespace'"],
    ],
  ])("refuses %s", (_, spec, old, want) => {
    expect(check(spec, old)).toEqual(want);
  });
});
