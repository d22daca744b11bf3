import { Etcd3 } from "etcd3";
import { Registry as MetricsRegistry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resourceForKind } from "../../foundation/api/resources.js";
import { Registry } from "../registry/index.js";
import { Store } from "../store/index.js";
import { type EtcdServer, startEtcd } from "../testing/etcd-server.js";
import { startControlPlaneEndpoints } from "./control-plane-endpoints.js";
import { ensureSystemServices } from "./system-services.js";

const endpoints = resourceForKind("v1", "Endpoints")!;

describe("the control planes' Services list every live control plane", () => {
  let etcd: EtcdServer;
  let client: Etcd3;
  let store: Store;
  let registry: Registry;

  beforeAll(async () => {
    etcd = await startEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
    store = new Store({ client, metrics: new MetricsRegistry() });
    registry = new Registry({ store, serviceAllocation: { serviceCidr: "10.96.0.0/16" } });
    await registry.ensureSystemNamespaces();
    await ensureSystemServices(registry, {
      serviceCidr: "10.96.0.0/16",
      apiAddress: "10.0.0.7",
      apiPort: 6443,
      dnsAddress: "10.0.0.7",
      dnsPort: 53,
    });
  });
  afterAll(async () => {
    store?.close();
    client?.close();
    await etcd?.stop();
  });

  const addresses = async (namespace = "default", name = "kubernetes") => {
    const eps = (await registry.get(endpoints, namespace, name)) as unknown as {
      subsets: { addresses: { ip: string }[]; ports: { port: number; protocol: string }[] }[];
    };
    return eps.subsets.flatMap((s) =>
      s.addresses.flatMap((a) => s.ports.map((p) => `${a.ip}:${p.port}/${p.protocol}`)),
    );
  };
  const https = [{ name: "https", port: 6443, protocol: "TCP" }];
  const start = (address: string, ttlSeconds = 15) =>
    startControlPlaneEndpoints({
      etcd: client,
      registry,
      service: { namespace: "default", name: "kubernetes" },
      address,
      ports: https,
      ttlSeconds,
      periodMs: 600_000,
    });

  it("adds each apiserver, drops one that stops at once and one that dies when its lease expires", async () => {
    const a = start("10.0.0.7");
    const b = start("10.0.0.10");
    await a.reconcile();
    await b.reconcile();
    // b wrote last, and saw both keys.
    expect(await addresses()).toEqual(["10.0.0.7:6443/TCP", "10.0.0.10:6443/TCP"]);

    // c dies without a word: no renewal after its 2 s lease.
    const c = start("10.0.0.9", 2);
    await c.reconcile();
    expect(await addresses()).toEqual(["10.0.0.7:6443/TCP", "10.0.0.9:6443/TCP", "10.0.0.10:6443/TCP"]);
    await new Promise((r) => setTimeout(r, 3_500));
    await a.reconcile();
    expect(await addresses()).toEqual(["10.0.0.7:6443/TCP", "10.0.0.10:6443/TCP"]);

    await b.stop();
    expect(await addresses()).toEqual(["10.0.0.7:6443/TCP"]);
    await a.stop();
    await c.stop();
    expect(await addresses()).toEqual([]);
  });

  it("makes the Endpoints again when they are gone", async () => {
    const a = start("10.0.0.7");
    await a.reconcile();
    await registry.delete(endpoints, "default", "kubernetes");
    await a.reconcile();
    expect(await addresses()).toEqual(["10.0.0.7:6443/TCP"]);
    await a.stop();
  });

  it("keeps kube-dns apart from kubernetes, with both of its ports", async () => {
    const dns = (address: string) =>
      startControlPlaneEndpoints({
        etcd: client,
        registry,
        service: { namespace: "kube-system", name: "kube-dns" },
        address,
        ports: [
          { name: "dns", port: 53, protocol: "UDP" },
          { name: "dns-tcp", port: 53, protocol: "TCP" },
        ],
        periodMs: 600_000,
      });
    const a = dns("10.0.0.5");
    const b = dns("10.0.0.6");
    await a.reconcile();
    await b.reconcile();
    expect(await addresses("kube-system", "kube-dns")).toEqual([
      "10.0.0.5:53/UDP",
      "10.0.0.5:53/TCP",
      "10.0.0.6:53/UDP",
      "10.0.0.6:53/TCP",
    ]);
    // Nothing changed, nothing written: every Endpoints write wakes every node's proxy.
    const version = async () =>
      (await registry.get(endpoints, "kube-system", "kube-dns")).metadata.resourceVersion;
    const before = await version();
    await a.reconcile();
    expect(await version()).toBe(before);
    expect(await addresses()).toEqual([]);
    await a.stop();
    await b.stop();
  });
});
