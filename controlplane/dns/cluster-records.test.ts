import { describe, expect, it } from "vitest";
import type { Endpoints, Service } from "../../proto/gen/api.js";
import {
  type ClusterDnsSource,
  ClusterDomainError,
  ClusterRecords,
  type DnsRecord,
} from "./cluster-records.js";

const meta = { apiVersion: "v1", metadata: {} };
const headlessPorts = [
  { name: "http", port: 80, protocol: "TCP" },
  { name: "dns", port: 53, protocol: "UDP" },
];

function source(ready = true): ClusterDnsSource {
  const services = new Map<string, Service>([
    [
      "default/web",
      { ...meta, kind: "Service", spec: { clusterIP: "10.96.0.20", ports: [{ name: "http", port: 80 }] } },
    ],
    ["default/db", { ...meta, kind: "Service", spec: { clusterIP: "None", ports: headlessPorts } }],
    [
      "default/ext",
      { ...meta, kind: "Service", spec: { type: "ExternalName", externalName: "Example.COM" } },
    ],
    [
      "default/alias",
      {
        ...meta,
        kind: "Service",
        spec: { type: "ExternalName", externalName: "web.default.svc.cluster.local" },
      },
    ],
  ]);
  const endpoints = new Map<string, Endpoints>([
    [
      "default/db",
      {
        ...meta,
        kind: "Endpoints",
        subsets: [
          {
            addresses: [
              { ip: "10.244.2.2", hostname: "db-1" },
              { ip: "10.244.1.1", hostname: "db-0" },
            ],
            ports: [
              { name: "http", port: 8080, protocol: "TCP" },
              { name: "dns", port: 5353, protocol: "UDP" },
            ],
          },
          {
            addresses: [{ ip: "10.244.3.7" }, { ip: "fd00::1" }],
            notReadyAddresses: [{ ip: "10.244.3.3", hostname: "db-2" }],
            ports: [{ name: "http", port: 8081, protocol: "TCP" }],
          },
        ],
      },
    ],
    // A ClusterIP Service's Endpoints never make per-pod names.
    [
      "default/web",
      { ...meta, kind: "Endpoints", subsets: [{ addresses: [{ ip: "10.244.1.9", hostname: "w" }] }] },
    ],
  ]);
  return { service: (k) => services.get(k), endpoints: (k) => endpoints.get(k), ready: () => ready };
}

const a = (name: string, ip: string): DnsRecord => ({ type: "A", name, ip });
const srv = (name: string, weight: number, port: number, target: string): DnsRecord => ({
  type: "SRV",
  name,
  priority: 0,
  weight,
  port,
  target,
});
const answer = (answers: DnsRecord[], additionals: DnsRecord[] = []) => ({
  kind: "answer",
  answers,
  additionals,
});
const noData = answer([]);
const d = "default.svc.cluster.local";

describe("cluster DNS records", () => {
  const records = new ClusterRecords(source(), "cluster.local");

  it.each<[string, string, string, unknown]>([
    ["a ClusterIP Service's A", `web.${d}`, "A", answer([a(`web.${d}`, "10.96.0.20")])],
    [
      "a headless Service's A: each ready IPv4 address once, sorted",
      `db.${d}`,
      "A",
      answer([a(`db.${d}`, "10.244.1.1"), a(`db.${d}`, "10.244.2.2"), a(`db.${d}`, "10.244.3.7")]),
    ],
    [
      "a headless Service's name in another case",
      `DB.Default.SVC.cluster.local.`,
      "A",
      answer([
        a("DB.Default.SVC.cluster.local.", "10.244.1.1"),
        a("DB.Default.SVC.cluster.local.", "10.244.2.2"),
        a("DB.Default.SVC.cluster.local.", "10.244.3.7"),
      ]),
    ],
    ["a pod's hostname.subdomain record", `db-0.db.${d}`, "A", answer([a(`db-0.db.${d}`, "10.244.1.1")])],
    [
      "a ready address without hostname, by its dashed IP",
      `10-244-3-7.db.${d}`,
      "A",
      answer([a(`10-244-3-7.db.${d}`, "10.244.3.7")]),
    ],
    ["a not-ready pod has no record", `db-2.db.${d}`, "A", { kind: "nxdomain" }],
    ["a hostname under a ClusterIP Service", `w.web.${d}`, "A", { kind: "nxdomain" }],
    ["a pod's name exists for other types", `db-0.db.${d}`, "AAAA", noData],
    [
      "SRV of a named port of a headless Service: one per ready endpoint, with its port",
      `_http._tcp.db.${d}`,
      "SRV",
      answer(
        [
          srv(`_http._tcp.db.${d}`, 33, 8080, `db-0.db.${d}`),
          srv(`_http._tcp.db.${d}`, 33, 8080, `db-1.db.${d}`),
          srv(`_http._tcp.db.${d}`, 33, 8081, `10-244-3-7.db.${d}`),
        ],
        [
          a(`db-0.db.${d}`, "10.244.1.1"),
          a(`db-1.db.${d}`, "10.244.2.2"),
          a(`10-244-3-7.db.${d}`, "10.244.3.7"),
        ],
      ),
    ],
    [
      "SRV of a UDP port",
      `_dns._udp.db.${d}`,
      "SRV",
      answer(
        [
          srv(`_dns._udp.db.${d}`, 50, 5353, `db-0.db.${d}`),
          srv(`_dns._udp.db.${d}`, 50, 5353, `db-1.db.${d}`),
        ],
        [a(`db-0.db.${d}`, "10.244.1.1"), a(`db-1.db.${d}`, "10.244.2.2")],
      ),
    ],
    [
      "SRV of a ClusterIP Service points at the Service's name",
      `_http._tcp.web.${d}`,
      "SRV",
      answer([srv(`_http._tcp.web.${d}`, 100, 80, `web.${d}`)], [a(`web.${d}`, "10.96.0.20")]),
    ],
    ["SRV with the wrong protocol", `_http._udp.db.${d}`, "SRV", { kind: "nxdomain" }],
    ["SRV of an unknown port", `_grpc._tcp.db.${d}`, "SRV", { kind: "nxdomain" }],
    ["the protocol level above SRV names", `_tcp.db.${d}`, "SRV", noData],
    ["A of an SRV name", `_http._tcp.db.${d}`, "A", noData],
    [
      "an ExternalName's CNAME, for any type",
      `ext.${d}`,
      "A",
      answer([{ type: "CNAME", name: `ext.${d}`, target: "example.com" }]),
    ],
    [
      "an ExternalName's CNAME asked as such",
      `ext.${d}`,
      "CNAME",
      answer([{ type: "CNAME", name: `ext.${d}`, target: "example.com" }]),
    ],
    [
      "an ExternalName inside the cluster domain is followed once",
      `alias.${d}`,
      "A",
      answer([{ type: "CNAME", name: `alias.${d}`, target: `web.${d}` }, a(`web.${d}`, "10.96.0.20")]),
    ],
    ["nothing below an ExternalName", `x.ext.${d}`, "A", { kind: "nxdomain" }],
    ["the namespace level exists", d, "A", noData],
    ["a missing Service", `gone.${d}`, "A", { kind: "nxdomain" }],
    ["too many labels", `a.b._http._tcp.db.${d}`, "A", { kind: "nxdomain" }],
  ])("%s", (_what, name, type, expected) => {
    expect(records.lookup(name, type)).toEqual(expected);
  });

  it("serves a custom domain given in any case, with a trailing dot", () => {
    const custom = new ClusterRecords(source(), "Corp.Example.");
    expect(custom.domain).toBe("corp.example");
    expect(custom.lookup("web.default.svc.corp.example", "A")).toEqual(
      answer([a("web.default.svc.corp.example", "10.96.0.20")]),
    );
    expect(custom.lookup("web.default.svc.cluster.local", "A")).toEqual({ kind: "refused" });
  });

  it("is unavailable until the caches are filled, but refuses foreign names at once", () => {
    const filling = new ClusterRecords(source(false), "cluster.local");
    expect(filling.lookup("web.default.svc.cluster.local", "A")).toEqual({ kind: "unavailable" });
    expect(filling.lookup("example.com", "A")).toEqual({ kind: "refused" });
  });

  it("refuses a domain that is not a DNS name", () => {
    expect(() => new ClusterRecords(source(), "")).toThrow(ClusterDomainError);
    expect(() => new ClusterRecords(source(), "under_score.local")).toThrow(/domain "under_score.local"/);
  });
});
