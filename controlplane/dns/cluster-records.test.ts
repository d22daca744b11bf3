import { describe, expect, it } from "vitest";
import type { Endpoints, Service } from "../../proto/gen/api.js";
import { type ClusterDnsSource, ClusterDomainError, ClusterRecords } from "./cluster-records.js";

function source(ready = true): ClusterDnsSource {
  const meta = { apiVersion: "v1", metadata: {} };
  const services = new Map<string, Service>([
    ["default/web", { ...meta, kind: "Service", spec: { clusterIP: "10.96.0.20" } }],
    ["default/db", { ...meta, kind: "Service", spec: { clusterIP: "None" } }],
  ]);
  const endpoints = new Map<string, Endpoints>([
    [
      "default/db",
      {
        ...meta,
        kind: "Endpoints",
        subsets: [
          { addresses: [{ ip: "10.244.2.2" }, { ip: "10.244.1.1" }] },
          { addresses: [{ ip: "10.244.1.1" }, { ip: "fd00::1" }], notReadyAddresses: [{ ip: "10.244.3.3" }] },
        ],
      },
    ],
  ]);
  return { service: (k) => services.get(k), endpoints: (k) => endpoints.get(k), ready: () => ready };
}

describe("cluster DNS records", () => {
  it("serves a custom domain given in any case, with a trailing dot", () => {
    const records = new ClusterRecords(source(), "Corp.Example.");
    expect(records.domain).toBe("corp.example");
    expect(records.lookupA("web.default.svc.corp.example")).toEqual({
      kind: "answer",
      addresses: ["10.96.0.20"],
    });
    expect(records.lookupA("web.default.svc.cluster.local")).toEqual({ kind: "refused" });
  });

  it("lists each ready IPv4 address of a headless Service once", () => {
    const records = new ClusterRecords(source(), "cluster.local");
    expect(records.lookupA("db.default.svc.cluster.local")).toEqual({
      kind: "answer",
      addresses: ["10.244.1.1", "10.244.2.2"],
    });
    expect(records.exists("db.default.svc.cluster.local")).toEqual({ kind: "answer", addresses: [] });
  });

  it("is unavailable until the caches are filled, but refuses foreign names at once", () => {
    const records = new ClusterRecords(source(false), "cluster.local");
    expect(records.lookupA("web.default.svc.cluster.local")).toEqual({ kind: "unavailable" });
    expect(records.lookupA("example.com")).toEqual({ kind: "refused" });
  });

  it("refuses a domain that is not a DNS name", () => {
    expect(() => new ClusterRecords(source(), "")).toThrow(ClusterDomainError);
    expect(() => new ClusterRecords(source(), "under_score.local")).toThrow(/domain "under_score.local"/);
  });
});
