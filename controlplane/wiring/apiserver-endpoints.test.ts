import { Etcd3 } from "etcd3";
import { Registry as MetricsRegistry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resourceForKind } from "../../foundation/api/resources.js";
import { Registry } from "../registry/index.js";
import { Store } from "../store/index.js";
import { type EtcdServer, startEtcd } from "../testing/etcd-server.js";
import { startApiserverEndpoints } from "./apiserver-endpoints.js";
import { ensureSystemServices } from "./system-services.js";

const endpoints = resourceForKind("v1", "Endpoints")!;

describe("the kubernetes Endpoints list every live apiserver", () => {
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

  const addresses = async () => {
    const eps = (await registry.get(endpoints, "default", "kubernetes")) as unknown as {
      subsets: { addresses: { ip: string }[]; ports: { port: number }[] }[];
    };
    return eps.subsets.flatMap((s) => s.addresses.map((a) => `${a.ip}:${s.ports[0]!.port}`));
  };
  const start = (address: string, ttlSeconds = 15) =>
    startApiserverEndpoints({ etcd: client, registry, address, port: 6443, ttlSeconds, periodMs: 60_000 });

  it("adds each apiserver, drops one that stops at once and one that dies when its lease expires", async () => {
    const a = start("10.0.0.7");
    const b = start("10.0.0.10");
    await a.reconcile();
    await b.reconcile();
    // b wrote last, and saw both keys.
    expect(await addresses()).toEqual(["10.0.0.7:6443", "10.0.0.10:6443"]);

    // c dies without a word: no renewal after its 2 s lease.
    const c = startApiserverEndpoints({
      etcd: client,
      registry,
      address: "10.0.0.9",
      port: 6443,
      ttlSeconds: 2,
      periodMs: 600_000,
    });
    await c.reconcile();
    expect(await addresses()).toEqual(["10.0.0.7:6443", "10.0.0.9:6443", "10.0.0.10:6443"]);
    await new Promise((r) => setTimeout(r, 3_500));
    await a.reconcile();
    expect(await addresses()).toEqual(["10.0.0.7:6443", "10.0.0.10:6443"]);

    await b.stop();
    expect(await addresses()).toEqual(["10.0.0.7:6443"]);
    await a.stop();
    await c.stop();
    expect(await addresses()).toEqual([]);
  });
});
