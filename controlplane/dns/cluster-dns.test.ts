import dgram from "node:dgram";
import { Resolver } from "node:dns/promises";
import net from "node:net";
import dnsPacket from "dns-packet";
import { Registry as MetricsRegistry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resourceForKind } from "../../foundation/api/resources.js";
import type { Endpoints, Service } from "../../proto/gen/api.js";
import { eventually } from "../controllers/garbage-collector/testing/eventually.js";
import {
  type RegistryHarness,
  startRegistryHarness,
} from "../controllers/garbage-collector/testing/registry-harness.js";
import { startClusterDns } from "./cluster-dns.js";
import { ClusterDomainError } from "./cluster-records.js";
import { DnsBindError, type RunningDnsServer } from "./dns-server.js";

const services = resourceForKind("v1", "Service")!;
const endpoints = resourceForKind("v1", "Endpoints")!;

/** The DNS error code node's resolver reports, or the sorted addresses. */
async function resolve(resolver: Resolver, name: string): Promise<string[] | string> {
  try {
    return (await resolver.resolve4(name)).sort();
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

/** One query over TCP with dns-packet's stream framing; returns the decoded response. */
async function queryTcp(port: number, name: string): Promise<dnsPacket.DecodedPacket> {
  const conn = net.connect(port, "127.0.0.1");
  await new Promise((resolve, reject) => conn.once("connect", resolve).once("error", reject));
  conn.write(dnsPacket.streamEncode({ type: "query", id: 7, questions: [{ type: "A", name }] }));
  let buf = Buffer.alloc(0);
  for await (const chunk of conn) {
    buf = Buffer.concat([buf, chunk as Buffer]);
    if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) break;
  }
  conn.destroy();
  return dnsPacket.decode(buf.subarray(2));
}

/** Sends one raw datagram and returns the decoded reply. */
async function queryUdp(
  port: number,
  message: Buffer,
): Promise<dnsPacket.DecodedPacket & { rcode?: string }> {
  const socket = dgram.createSocket("udp4");
  try {
    const reply = new Promise<Buffer>((resolve) => socket.once("message", resolve));
    socket.send(message, port, "127.0.0.1");
    return dnsPacket.decode(await reply);
  } finally {
    socket.close();
  }
}

describe("cluster DNS over the shared informers", () => {
  let h: RegistryHarness;
  let dns: RunningDnsServer;
  let resolver: Resolver;
  const metrics = new MetricsRegistry();

  beforeAll(async () => {
    h = await startRegistryHarness();
    await h.registry.create(services, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: "default" },
      spec: { selector: { app: "web" }, ports: [{ port: 80 }], clusterIP: "10.96.5.5" },
    } satisfies Service);
    await h.registry.create(services, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "db", namespace: "kube-system" },
      spec: { selector: { app: "db" }, clusterIP: "None", ports: [{ port: 5432 }] },
    } satisfies Service);
    await h.registry.create(endpoints, {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "db", namespace: "kube-system" },
      subsets: [
        {
          addresses: [{ ip: "10.244.1.3" }, { ip: "10.244.2.4" }],
          notReadyAddresses: [{ ip: "10.244.3.5" }],
          ports: [{ port: 5432 }],
        },
      ],
    } satisfies Endpoints);
    dns = await startClusterDns({ informers: h.informers, address: "127.0.0.1", port: 0, metrics });
    resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([`127.0.0.1:${dns.port}`]);
    await eventually(async () =>
      expect(await resolve(resolver, "web.default.svc.cluster.local")).not.toBe("ESERVFAIL"),
    );
  });

  afterAll(async () => {
    await dns?.close();
    await h?.stop();
  });

  it("answers a Service's full name with its ClusterIP, in any case, with or without the trailing dot", async () => {
    expect(await resolve(resolver, "web.default.svc.cluster.local")).toEqual(["10.96.5.5"]);
    expect(await resolve(resolver, "WEB.Default.SVC.cluster.local.")).toEqual(["10.96.5.5"]);
    const ttl = await resolver.resolve4("web.default.svc.cluster.local", { ttl: true });
    expect(ttl).toEqual([{ address: "10.96.5.5", ttl: 5 }]);
  });

  it("answers a headless Service with its ready pod IPs only", async () => {
    expect(await resolve(resolver, "db.kube-system.svc.cluster.local")).toEqual(["10.244.1.3", "10.244.2.4"]);
  });

  it("answers per-pod names and SRV records of a headless Service's named ports", async () => {
    await h.registry.create(services, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "pg", namespace: "default" },
      spec: { selector: { app: "pg" }, clusterIP: "None", ports: [{ name: "sql", port: 5432 }] },
    } satisfies Service);
    await h.registry.create(endpoints, {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "pg", namespace: "default" },
      subsets: [
        {
          addresses: [
            { ip: "10.244.1.3", hostname: "pg-0" },
            { ip: "10.244.2.4", hostname: "pg-1" },
          ],
          ports: [{ name: "sql", port: 15432 }],
        },
      ],
    } satisfies Endpoints);
    await eventually(async () =>
      expect(await resolve(resolver, "pg-1.pg.default.svc.cluster.local")).toEqual(["10.244.2.4"]),
    );
    const srv = await resolver.resolveSrv("_sql._tcp.pg.default.svc.cluster.local");
    expect(srv.sort((x, y) => x.name.localeCompare(y.name))).toEqual([
      { name: "pg-0.pg.default.svc.cluster.local", port: 15432, priority: 0, weight: 50 },
      { name: "pg-1.pg.default.svc.cluster.local", port: 15432, priority: 0, weight: 50 },
    ]);
  });

  it("answers an ExternalName Service with a CNAME to its external name", async () => {
    await h.registry.create(services, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "upstream", namespace: "default" },
      spec: { type: "ExternalName", externalName: "db.example.com." },
    } satisfies Service);
    await eventually(async () =>
      expect(await resolver.resolveCname("upstream.default.svc.cluster.local")).toEqual(["db.example.com"]),
    );
  });

  it("follows Services and Endpoints as they change", async () => {
    await h.registry.create(services, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "late", namespace: "default" },
      spec: { selector: { app: "late" }, ports: [{ port: 80 }], clusterIP: "10.96.6.6" },
    } satisfies Service);
    await eventually(async () =>
      expect(await resolve(resolver, "late.default.svc.cluster.local")).toEqual(["10.96.6.6"]),
    );
    await h.registry.delete(services, "default", "late");
    await eventually(async () =>
      expect(await resolve(resolver, "late.default.svc.cluster.local")).toBe("ENOTFOUND"),
    );
  });

  it("says NXDOMAIN for unknown names in the cluster domain and no data for the names above Services", async () => {
    expect(await resolve(resolver, "nope.default.svc.cluster.local")).toBe("ENOTFOUND");
    expect(await resolve(resolver, "web.other.svc.cluster.local")).toBe("ENOTFOUND");
    expect(await resolve(resolver, "a.web.default.svc.cluster.local")).toBe("ENOTFOUND");
    expect(await resolve(resolver, "web.default.pod.cluster.local")).toBe("ENOTFOUND");
    expect(await resolve(resolver, "default.svc.cluster.local")).toBe("ENODATA");
    expect(await resolve(resolver, "cluster.local")).toBe("ENODATA");
    // The name exists, but holds no IPv6 address.
    await expect(resolver.resolve6("web.default.svc.cluster.local")).rejects.toMatchObject({
      code: "ENODATA",
    });
  });

  it("refuses names outside the cluster domain instead of forwarding them", async () => {
    expect(await resolve(resolver, "example.com")).toBe("EREFUSED");
    expect(await resolve(resolver, "web.default.svc")).toBe("EREFUSED");
    expect(await resolve(resolver, "notcluster.local")).toBe("EREFUSED");
  });

  it("answers over TCP too", async () => {
    const res = await queryTcp(dns.port, "web.default.svc.cluster.local");
    expect(res.id).toBe(7);
    expect(res.flag_aa).toBe(true);
    expect(res.answers?.map((a) => (a as { data?: unknown }).data)).toEqual(["10.96.5.5"]);
  });

  it("truncates an answer too big for UDP, and the resolver gets it whole over TCP", async () => {
    const many = Array.from({ length: 60 }, (_, i) => ({ ip: `10.244.7.${i + 1}` }));
    await h.registry.create(services, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "big", namespace: "default" },
      spec: { selector: { app: "big" }, clusterIP: "None", ports: [{ port: 80 }] },
    } satisfies Service);
    await h.registry.create(endpoints, {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "big", namespace: "default" },
      subsets: [{ addresses: many, ports: [{ port: 80 }] }],
    } satisfies Endpoints);
    await eventually(async () =>
      expect(await resolve(resolver, "big.default.svc.cluster.local")).toEqual(many.map((a) => a.ip).sort()),
    );
    const udp = await queryUdp(
      dns.port,
      dnsPacket.encode({
        type: "query",
        id: 9,
        questions: [{ type: "A", name: "big.default.svc.cluster.local" }],
      }),
    );
    expect(udp.flag_tc).toBe(true);
    expect(udp.answers).toEqual([]);
    const text = await metrics.metrics();
    expect(text).toMatch(/kctl_dns_responses_total\{protocol="udp",rcode="NOERROR"\} [1-9]/);
  });

  it("answers malformed messages with FORMERR and ignores responses", async () => {
    const res = await queryUdp(dns.port, Buffer.from([0x12, 0x34, 0x01]));
    expect(res.id).toBe(0x1234);
    expect(res.rcode).toBe("FORMERR");
    // A response sent to the server gets no reply; the next query is still answered.
    const response = dnsPacket.encode({
      type: "response",
      id: 1,
      questions: [{ type: "A", name: "x.cluster.local" }],
    });
    const next = dnsPacket.encode({
      type: "query",
      id: 2,
      questions: [{ type: "A", name: "web.default.svc.cluster.local" }],
    });
    const socket = dgram.createSocket("udp4");
    const reply = new Promise<Buffer>((resolve) => socket.once("message", resolve));
    socket.send(response, dns.port, "127.0.0.1");
    socket.send(next, dns.port, "127.0.0.1");
    expect(dnsPacket.decode(await reply).id).toBe(2);
    socket.close();
  });

  it("refuses bad options, naming them", async () => {
    await expect(
      startClusterDns({ informers: h.informers, address: "127.0.0.1", port: 0, domain: "bad_domain" }),
    ).rejects.toThrow(ClusterDomainError);
    await expect(
      startClusterDns({ informers: h.informers, address: "127.0.0.1", port: 70000 }),
    ).rejects.toThrow(/option port: 70000/);
    await expect(
      startClusterDns({ informers: h.informers, address: "127.0.0.1", port: dns.port }),
    ).rejects.toThrow(DnsBindError);
  });
});
