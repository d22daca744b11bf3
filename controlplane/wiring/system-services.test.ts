import { Etcd3 } from "etcd3";
import { Registry as MetricsRegistry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resourceForKind } from "../../foundation/api/resources.js";
import { Registry } from "../registry/index.js";
import { Store } from "../store/index.js";
import { type EtcdServer, startEtcd } from "../testing/etcd-server.js";
import { ensureSystemServices } from "./system-services.js";

describe("system Services with several control planes", () => {
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
  });
  afterAll(async () => {
    store?.close();
    client?.close();
    await etcd?.stop();
  });

  it("lets control planes that start together all write them, none failing on the race", async () => {
    const starts = ["10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8"].map((ip) =>
      ensureSystemServices(registry, {
        serviceCidr: "10.96.0.0/16",
        apiAddress: ip,
        apiPort: 6443,
        dnsAddress: ip,
        dnsPort: 53,
      }),
    );
    await Promise.all(starts);
    const eps = (await registry.get(
      resourceForKind("v1", "Endpoints")!,
      "default",
      "kubernetes",
    )) as unknown as {
      subsets: { addresses: { ip: string }[] }[];
    };
    expect(["10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8"]).toContain(eps.subsets[0]!.addresses[0]!.ip);
  });

  it("waits out a peer that has claimed the ClusterIP and not yet written its Service", async () => {
    const ns = "default";
    const services = resourceForKind("v1", "Service")!;
    await registry.delete(services, ns, "kubernetes");
    // The winner's claim, held while its Service write is slow (a loaded host).
    const claim = "/registry/serviceipallocations/10.96.0.1";
    await client.put(claim).value(JSON.stringify({ metadata: { uid: "peer" } }));
    const loser = ensureSystemServices(
      registry,
      {
        serviceCidr: "10.96.0.0/16",
        apiAddress: "10.0.0.9",
        apiPort: 6443,
        dnsAddress: "10.0.0.9",
        dnsPort: 53,
      },
      { attempts: 10, delayMs: 50 },
    );
    await new Promise((r) => setTimeout(r, 600));
    // The winner's write lands: its claim becomes the Service's own.
    await client.delete().key(claim);
    await registry.create(services, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "kubernetes", namespace: ns },
      spec: { clusterIP: "10.96.0.1", ports: [{ name: "https", port: 443, protocol: "TCP" }] },
    } as never);
    await loser;
    const svc = (await registry.get(services, ns, "kubernetes")) as unknown as {
      spec: { clusterIP: string };
    };
    expect(svc.spec.clusterIP).toBe("10.96.0.1");
  });
});
