import { Etcd3 } from "etcd3";
import { Registry as MetricsRegistry } from "prom-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type ApiError, isApiError } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { resourceForPlural } from "../../foundation/api/resources.js";
import { FakeClock } from "../../foundation/util/clock.js";
import type { Service } from "../../proto/gen/api.js";
import { Store } from "../store/store.js";
import { type EtcdServer, startEtcd } from "../testing/etcd-server.js";
import { Registry, type RegistryOptions } from "./registry.js";
import { ServiceAllocationConfigError, ServiceAllocator } from "./service-allocation.js";

const services = resourceForPlural("", "services")!;
const ipPrefix = "/registry/serviceipallocations/";
const portPrefix = "/registry/servicenodeportallocations/";

function svc(name: string, spec: Service["spec"] = {}): Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "default" },
    spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec },
  };
}

const specOf = (obj: KubeObject) => (obj as Service).spec!;

async function failure(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isApiError(err)) throw new Error(`expected an ApiError, got ${String(err)}`);
  return err;
}

describe("Service allocation over a real etcd", () => {
  let etcd: EtcdServer;
  const clients: Etcd3[] = [];
  let client: Etcd3;
  let store: Store;
  let registry: Registry;
  const clock = new FakeClock(Date.parse("2024-05-01T12:00:00Z"));

  const newRegistry = (opts: Partial<RegistryOptions> = {}): Registry => {
    const c = new Etcd3({ hosts: etcd.endpoint });
    clients.push(c);
    return new Registry({ store: new Store({ client: c, metrics: new MetricsRegistry() }), clock, ...opts });
  };
  const keys = async (prefix: string): Promise<string[]> =>
    (await client.getAll().prefix(prefix).keys()).map((k) => k.slice(prefix.length)).sort();

  beforeAll(async () => {
    etcd = await startEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
    store = new Store({ client, metrics: new MetricsRegistry() });
    registry = new Registry({ store, clock });
    await registry.ensureSystemNamespaces();
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    client?.close();
    await etcd?.stop();
  });

  beforeEach(async () => {
    await client.delete().prefix("/registry/services/");
    await client.delete().prefix(ipPrefix);
    await client.delete().prefix(portPrefix);
  });

  it("gives a new Service a free ClusterIP from the range, recorded under its key with the owner", async () => {
    const created = await registry.create(services, svc("web"));
    const ip = specOf(created).clusterIP!;
    expect(ip).toMatch(/^10\.96\.\d+\.\d+$/);
    expect(["10.96.0.0", "10.96.0.1", "10.96.0.10", "10.96.255.255"]).not.toContain(ip);
    expect(specOf(created).clusterIPs).toEqual([ip]);
    expect(await keys(ipPrefix)).toEqual([ip]);
    const key = JSON.parse((await client.get(`${ipPrefix}${ip}`).string())!);
    expect(key.metadata.uid).toBe(created.metadata.uid);
    expect(key.owner).toEqual({ namespace: "default", name: "web" });
    expect(specOf(await registry.get(services, "default", "web")).clusterIP).toBe(ip);
  });

  it("honours an explicit ClusterIP when free and refuses a taken or out-of-range one with 422", async () => {
    const dns = await registry.create(services, svc("kube-dns", { clusterIP: "10.96.0.10" }));
    expect(specOf(dns).clusterIP).toBe("10.96.0.10");

    const taken = await failure(registry.create(services, svc("other", { clusterIP: "10.96.0.10" })));
    expect(taken.reason).toBe("Invalid");
    expect(taken.code).toBe(422);
    expect(taken.message).toContain("spec.clusterIP");
    expect(taken.message).toContain("provided IP is already allocated");

    const outside = await failure(registry.create(services, svc("far", { clusterIP: "10.0.0.5" })));
    expect(outside.reason).toBe("Invalid");
    expect(outside.message).toContain("not in the valid range. The range of valid IPs is 10.96.0.0/16");
    const broadcast = await failure(registry.create(services, svc("bcast", { clusterIP: "10.96.255.255" })));
    expect(broadcast.message).toContain("not in the valid range");

    // clusterIPs alone is read like Kubernetes: its first entry is the request.
    const viaList = await registry.create(services, svc("listed", { clusterIPs: ["10.96.3.3"] }));
    expect(specOf(viaList).clusterIP).toBe("10.96.3.3");
    expect(await keys(ipPrefix)).toEqual(["10.96.0.10", "10.96.3.3"]);
  });

  it("allows headless Services and claims nothing for them", async () => {
    const headless = await registry.create(services, svc("db", { clusterIP: "None" }));
    expect(specOf(headless).clusterIP).toBe("None");
    expect(specOf(headless).clusterIPs).toEqual(["None"]);
    expect(await keys(ipPrefix)).toEqual([]);
    await registry.delete(services, "default", "db");
  });

  it("gives an ExternalName Service no address, and frees the one a Service held before becoming one", async () => {
    const alias = await registry.create(
      services,
      svc("alias", { type: "ExternalName", externalName: "example.com" }),
    );
    expect(specOf(alias).clusterIP).toBeUndefined();
    expect(specOf(alias).clusterIPs).toBeUndefined();
    expect(await keys(ipPrefix)).toEqual([]);

    const web = await registry.create(services, svc("web", { type: "NodePort" }));
    expect(await keys(ipPrefix)).toEqual([specOf(web).clusterIP]);
    const renamed = await registry.update(
      services,
      "default",
      "web",
      svc("web", { type: "ExternalName", externalName: "db.example.com." }),
    );
    expect(specOf(renamed).clusterIP).toBeUndefined();
    expect(specOf(renamed).ports![0]!.nodePort).toBeUndefined();
    expect(await keys(ipPrefix)).toEqual([]);
    expect(await keys(portPrefix)).toEqual([]);

    const back = await registry.update(services, "default", "web", svc("web"));
    expect(await keys(ipPrefix)).toEqual([specOf(back).clusterIP]);
    await registry.delete(services, "default", "web");
    await registry.delete(services, "default", "alias");
  });

  it("gives a LoadBalancer NodePorts unless it opts out, and a healthCheckNodePort with externalTrafficPolicy Local", async () => {
    const lb = await registry.create(
      services,
      svc("lb", { type: "LoadBalancer", externalTrafficPolicy: "Local" }),
    );
    const nodePort = specOf(lb).ports![0]!.nodePort!;
    const health = specOf(lb).healthCheckNodePort!;
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    expect(health).toBeGreaterThanOrEqual(30000);
    expect(health).not.toBe(nodePort);
    expect(await keys(portPrefix)).toEqual([String(nodePort), String(health)].sort());

    // Back to the Cluster policy: the health check port is freed, the NodePort kept.
    const cluster = await registry.update(
      services,
      "default",
      "lb",
      svc("lb", { type: "LoadBalancer", externalTrafficPolicy: "Cluster", ports: [{ port: 80 }] }),
    );
    expect(specOf(cluster).healthCheckNodePort).toBeUndefined();
    expect(specOf(cluster).ports![0]!.nodePort).toBe(nodePort);
    expect(await keys(portPrefix)).toEqual([String(nodePort)]);

    const direct = await registry.create(
      services,
      svc("direct", { type: "LoadBalancer", allocateLoadBalancerNodePorts: false }),
    );
    expect(specOf(direct).ports![0]!.nodePort).toBeUndefined();
    expect(await keys(portPrefix)).toEqual([String(nodePort)]);
    await registry.delete(services, "default", "lb");
    await registry.delete(services, "default", "direct");
    expect(await keys(portPrefix)).toEqual([]);
  });

  it("releases the ClusterIP and NodePorts on delete so another Service can take them", async () => {
    const first = await registry.create(
      services,
      svc("web", { type: "NodePort", ports: [{ port: 80, nodePort: 30080 }] }),
    );
    const ip = specOf(first).clusterIP!;
    expect(await keys(portPrefix)).toEqual(["30080"]);
    const del = await registry.delete(services, "default", "web");
    expect(del.removed).toBe(true);
    expect(await keys(ipPrefix)).toEqual([]);
    expect(await keys(portPrefix)).toEqual([]);
    const second = await registry.create(
      services,
      svc("again", { clusterIP: ip, type: "NodePort", ports: [{ port: 80, nodePort: 30080 }] }),
    );
    expect(specOf(second).clusterIP).toBe(ip);
  });

  it("releases on the final removal of a Service held by a finalizer", async () => {
    const created = await registry.create(services, {
      ...svc("held"),
      metadata: { name: "held", namespace: "default", finalizers: ["example.com/hold"] },
    });
    const ip = specOf(created).clusterIP!;
    expect((await registry.delete(services, "default", "held")).removed).toBe(false);
    expect(await keys(ipPrefix)).toEqual([ip]);
    await registry.patch(services, "default", "held", { metadata: { finalizers: null } });
    expect(await keys(ipPrefix)).toEqual([]);
  });

  it("keeps the ClusterIP when an update leaves it out, and refuses to change it", async () => {
    const created = await registry.create(services, svc("web"));
    const ip = specOf(created).clusterIP!;
    const replaced = await registry.update(
      services,
      "default",
      "web",
      svc("web", { ports: [{ port: 8080 }] }),
    );
    expect(specOf(replaced).clusterIP).toBe(ip);
    expect(specOf(replaced).clusterIPs).toEqual([ip]);
    const changed = await failure(
      registry.update(services, "default", "web", svc("web", { clusterIP: "10.96.9.9" })),
    );
    expect(changed.reason).toBe("Invalid");
    expect(changed.message).toContain("spec.clusterIP");
    const viaList = await failure(
      registry.update(services, "default", "web", svc("web", { clusterIPs: ["10.96.9.9"] })),
    );
    expect(viaList.message).toContain('spec.clusterIPs[0]: Invalid value: "10.96.9.9": field is immutable');
    expect(await keys(ipPrefix)).toEqual([ip]);
  });

  it("allocates NodePorts, keeps them across updates and frees them on a type change", async () => {
    const created = await registry.create(
      services,
      svc("web", {
        type: "NodePort",
        ports: [
          { name: "http", port: 80 },
          { name: "dns", port: 53, protocol: "UDP" },
        ],
      }),
    );
    const nodePorts = specOf(created).ports!.map((p) => p.nodePort!);
    for (const p of nodePorts) expect(p).toBeGreaterThanOrEqual(30000);
    for (const p of nodePorts) expect(p).toBeLessThanOrEqual(32767);
    expect(new Set(nodePorts).size).toBe(2);
    expect(await keys(portPrefix)).toEqual(nodePorts.map(String).sort());

    // A re-apply without nodePorts keeps them; a new port gets a new one.
    const updated = await registry.update(
      services,
      "default",
      "web",
      svc("web", {
        type: "NodePort",
        ports: [
          { name: "http", port: 80 },
          { name: "dns", port: 53, protocol: "UDP" },
          { name: "https", port: 443 },
        ],
      }),
    );
    const after = specOf(updated).ports!.map((p) => p.nodePort!);
    expect(after.slice(0, 2)).toEqual(nodePorts);
    expect(await keys(portPrefix)).toEqual(after.map(String).sort());

    // An explicit change claims the new port and frees the old one.
    const moved = await registry.patch(services, "default", "web", {
      spec: {
        ports: [
          { name: "http", port: 80, nodePort: 31111 },
          { name: "dns", port: 53, protocol: "UDP", nodePort: after[1] },
          { name: "https", port: 443, nodePort: after[2] },
        ],
      },
    });
    expect(specOf(moved).ports![0]!.nodePort).toBe(31111);
    expect(await keys(portPrefix)).toEqual(["31111", String(after[1]), String(after[2])].sort());

    const plain = await registry.update(
      services,
      "default",
      "web",
      svc("web", { type: "ClusterIP", ports: [{ name: "http", port: 80 }] }),
    );
    expect(specOf(plain).ports![0]!.nodePort).toBeUndefined();
    expect(await keys(portPrefix)).toEqual([]);
    expect(await keys(ipPrefix)).toEqual([specOf(created).clusterIP]);
  });

  it("honours an explicit NodePort, shared by TCP and UDP of one Service, and refuses it to another", async () => {
    const both = await registry.create(
      services,
      svc("dns", {
        type: "NodePort",
        ports: [
          { name: "tcp", port: 53, protocol: "TCP", nodePort: 30053 },
          { name: "udp", port: 53, protocol: "UDP", nodePort: 30053 },
        ],
      }),
    );
    expect(specOf(both).ports!.map((p) => p.nodePort)).toEqual([30053, 30053]);
    expect(await keys(portPrefix)).toEqual(["30053"]);

    const taken = await failure(
      registry.create(services, svc("other", { type: "NodePort", ports: [{ port: 53, nodePort: 30053 }] })),
    );
    expect(taken.reason).toBe("Invalid");
    expect(taken.message).toContain("spec.ports[0].nodePort");
    expect(taken.message).toContain("provided port is already allocated");
    // The refused Service's ClusterIP claim was rolled back.
    expect(await keys(ipPrefix)).toEqual([specOf(both).clusterIP]);
  });

  it("passes ClientIP session affinity and its timeout through", async () => {
    const created = await registry.create(
      services,
      svc("sticky", {
        sessionAffinity: "ClientIP",
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } },
      }),
    );
    expect(specOf(created).sessionAffinity).toBe("ClientIP");
    expect(specOf(created).sessionAffinityConfig?.clientIP?.timeoutSeconds).toBe(600);
    const defaulted = await registry.create(services, svc("sticky2", { sessionAffinity: "ClientIP" }));
    expect(specOf(defaulted).sessionAffinityConfig?.clientIP?.timeoutSeconds).toBe(10800);
  });

  it("claims nothing on dry runs, but still refuses a taken value", async () => {
    const dry = await registry.create(services, svc("web", { type: "NodePort", ports: [{ port: 80 }] }), {
      dryRun: true,
    });
    expect(specOf(dry).clusterIP).toMatch(/^10\.96\./);
    expect(specOf(dry).ports![0]!.nodePort).toBeGreaterThanOrEqual(30000);
    expect(await keys(ipPrefix)).toEqual([]);
    expect(await keys(portPrefix)).toEqual([]);

    await registry.create(services, svc("dns", { clusterIP: "10.96.0.10" }));
    const taken = await failure(
      registry.create(services, svc("copy", { clusterIP: "10.96.0.10" }), { dryRun: true }),
    );
    expect(taken.message).toContain("already allocated");

    await registry.create(services, svc("web"));
    await registry.update(services, "default", "web", svc("web", { type: "NodePort" }), { dryRun: true });
    expect(await keys(portPrefix)).toEqual([]);
  });

  it("releases the claim when the Service write itself fails", async () => {
    await registry.create(services, svc("web", { clusterIP: "10.96.1.1" }));
    const dup = await failure(registry.create(services, svc("web", { clusterIP: "10.96.1.2" })));
    expect(dup.reason).toBe("AlreadyExists");
    expect(await keys(ipPrefix)).toEqual(["10.96.1.1"]);
  });

  it("never gives one address or port twice, even to two control planes creating at once", async () => {
    // /27: 30 usable addresses less the two reserved ones; 28 ports.
    const opts = {
      serviceAllocation: { serviceCidr: "10.100.0.0/27", nodePortRange: [31000, 31027] as const },
    };
    const a = newRegistry(opts);
    const b = newRegistry(opts);
    const make = (r: Registry, i: number) =>
      r.create(services, svc(`s${i}`, { type: "NodePort", ports: [{ port: 80 }] }));
    const created = await Promise.all(Array.from({ length: 28 }, (_, i) => make(i % 2 ? a : b, i)));
    const ips = created.map((s) => specOf(s).clusterIP!);
    const ports = created.map((s) => specOf(s).ports![0]!.nodePort!);
    expect(new Set(ips).size).toBe(28);
    expect(new Set(ports).size).toBe(28);
    expect(ips).not.toContain("10.100.0.1");
    expect(ips).not.toContain("10.100.0.10");
    expect((await keys(ipPrefix)).length).toBe(28);

    const full = await failure(make(a, 99));
    expect(full.reason).toBe("InternalError");
    expect(full.message).toBe("failed to allocate a serviceIP: range 10.100.0.0/27 is full");
    // The reserved addresses are still there for whoever asks by name.
    const asked = await a.create(services, svc("kube-dns", { clusterIP: "10.100.0.10" }));
    expect(specOf(asked).clusterIP).toBe("10.100.0.10");
  });

  it("repair frees keys left by a crash after the grace period and restores missing keys", async () => {
    const allocator = new ServiceAllocator(store, { clock, leakGraceMs: 60_000 });
    const kept = await registry.create(services, svc("web"));
    const ip = specOf(kept).clusterIP!;
    // A claim whose Service was never written (the writer died in between).
    await client.put(`${ipPrefix}10.96.7.7`).value(
      JSON.stringify({
        apiVersion: "v1",
        kind: "ServiceIPAllocation",
        metadata: { name: "10.96.7.7", uid: "gone", creationTimestamp: new Date(clock.now()).toISOString() },
        owner: { namespace: "default", name: "lost" },
      }),
    );
    // A Service whose key went missing.
    await client.delete().key(`${ipPrefix}${ip}`);

    const early = await allocator.repair();
    expect(early).toEqual({ released: [], restored: [ip], duplicates: [] });
    expect(await keys(ipPrefix)).toEqual(["10.96.7.7", ip].sort());

    clock.advance(61_000);
    const late = await allocator.repair();
    expect(late).toEqual({ released: ["10.96.7.7"], restored: [], duplicates: [] });
    expect(await keys(ipPrefix)).toEqual([ip]);
  });

  it("refuses unusable options, naming the option", () => {
    expect(() => new ServiceAllocator(store, { serviceCidr: "10.96.0.1/16" })).toThrow(
      ServiceAllocationConfigError,
    );
    expect(() => new ServiceAllocator(store, { serviceCidr: "10.96.0.0/30" })).toThrow(/serviceCidr/);
    expect(() => new ServiceAllocator(store, { nodePortRange: [20000, 20010] })).toThrow(
      /nodePortRange: 20000-20010 must be a non-empty range inside 30000-32767/,
    );
    expect(() => new ServiceAllocator(store, { reservedClusterIPs: ["10.96.0.300"] })).toThrow(
      /reservedClusterIPs/,
    );
  });
});
