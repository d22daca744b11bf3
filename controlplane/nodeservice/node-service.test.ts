import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import { Registry as MetricsRegistry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeClient } from "../../node-agent/agent/node-client.js";
import type { ObjectEvent } from "../../proto/gen/node.js";
import type { KubeObject } from "../api/object.js";
import { resourceForKind } from "../api/resources.js";
import { InformerFactory } from "../client/informer-factory.js";
import { ensureCa, ensureServingCert, issueCertificate, type KeyPair } from "../pki/pki.js";
import { Registry } from "../registry/index.js";
import { Store } from "../store/index.js";
import { type EtcdServer, startEtcd } from "../testing/etcd-server.js";
import { nodeLeaseNamespace } from "./node-service.js";
import { ObjectDispatcher } from "./object-dispatcher.js";
import { PodCidrAllocator } from "./pod-cidr-allocator.js";
import { type NodeServiceServer, startNodeServiceServer } from "./server.js";
import { TunnelRegistry } from "./tunnels.js";

const pods = resourceForKind("v1", "Pod")!;
const nodes = resourceForKind("v1", "Node")!;
const leases = resourceForKind("coordination.k8s.io/v1", "Lease")!;

describe("NodeService over mTLS with a real etcd", () => {
  let etcd: EtcdServer;
  let client: Etcd3;
  let store: Store;
  let registry: Registry;
  let factory: InformerFactory;
  let server: NodeServiceServer;
  let dir: string;
  let ca: KeyPair;
  const clients: NodeClient[] = [];

  async function nodeClient(name: string, signer: KeyPair = ca): Promise<NodeClient> {
    const pair = await issueCertificate(signer, {
      commonName: `system:node:${name}`,
      organization: "system:nodes",
      client: true,
    });
    const c = new NodeClient({
      address: `127.0.0.1:${server.port}`,
      caPem: ca.certPem,
      certPem: pair.certPem,
      keyPem: pair.keyPem,
    });
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "nodeservice-"));
    etcd = await startEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
    store = new Store({ client, metrics: new MetricsRegistry() });
    registry = new Registry({ store });
    await registry.ensureSystemNamespaces();
    await registry.create(resourceForKind("v1", "Namespace")!, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: nodeLeaseNamespace },
    });
    ca = await ensureCa(dir);
    const serving = await ensureServingCert(dir, ca, { commonName: "kctl-apiserver", hosts: ["127.0.0.1"] });
    factory = new InformerFactory(store);
    const pods = ObjectDispatcher.pods(factory.pods());
    const services = ObjectDispatcher.all(factory.informer(resourceForKind("v1", "Service")!));
    factory.start();
    server = await startNodeServiceServer({
      host: "127.0.0.1",
      port: 0,
      caPem: ca.certPem,
      serving,
      registry,
      allocator: new PodCidrAllocator(client, "10.244.0.0/16"),
      pods,
      watchable: { Service: services },
      tunnels: new TunnelRegistry(),
      settings: {
        clusterCidr: "10.244.0.0/16",
        serviceCidr: "10.96.0.0/16",
        clusterDns: "10.96.0.10",
        clusterDomain: "cluster.local",
        leaseDurationSeconds: 40,
        nodeEvictionTimeoutSeconds: 300,
      },
    });
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.close();
    factory?.stop();
    store?.close();
    client?.close();
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("registers a node with a podCIDR and a lease, and refuses acting for another node", async () => {
    const n1 = await nodeClient("n1");
    const res = await n1.call("Register", {
      nodeName: "n1",
      addresses: [{ type: "InternalIP", address: "10.0.0.1" }],
      capacity: { cpu: "2", memory: "4Gi", pods: "110" },
    });
    expect(res.podCIDR).toBe("10.244.0.0/24");
    const node = (await registry.get(nodes, undefined, "n1")) as KubeObject & {
      spec: { podCIDR: string };
      status: { conditions: { type: string; status: string }[] };
    };
    expect(node.spec.podCIDR).toBe("10.244.0.0/24");
    expect(node.status.conditions.find((c) => c.type === "Ready")?.status).toBe("True");
    expect(
      (
        (await registry.get(leases, nodeLeaseNamespace, "n1")) as KubeObject & {
          spec: { holderIdentity: string };
        }
      ).spec.holderIdentity,
    ).toBe("n1");
    expect((await n1.call("Register", { nodeName: "n1", capacity: { cpu: "2" } })).podCIDR).toBe(
      "10.244.0.0/24",
    );
    await expect(n1.call("Register", { nodeName: "n2" })).rejects.toMatchObject({ reason: "Forbidden" });
  });

  it("brings Ready back when a node whose lease lapsed renews again", async () => {
    const n1 = await nodeClient("n1");
    await registry.patchStatus(nodes, undefined, "n1", {
      status: { conditions: [{ type: "Ready", status: "Unknown", reason: "NodeStatusUnknown" }] },
    });
    await n1.call("RenewLease", { nodeName: "n1" });
    const node = (await registry.get(nodes, undefined, "n1")) as KubeObject & {
      status: { conditions: { type: string; status: string }[] };
    };
    expect(node.status.conditions.find((c) => c.type === "Ready")?.status).toBe("True");
  });

  it("refuses a client whose certificate the cluster CA did not sign", async () => {
    const rogueCa = await ensureCa(join(dir, "rogue"), "rogue");
    const rogue = await nodeClient("n1", rogueCa);
    await expect(rogue.call("RenewLease", { nodeName: "n1" }, 3_000)).rejects.toBeDefined();
  });

  it("streams the node's pods (full set, then changes) and takes status reports only for its own pods", async () => {
    const n1 = await nodeClient("n1");
    const pod = (name: string, nodeName: string) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "default" },
      spec: { nodeName, containers: [{ name: "c", image: "kctl.local/busybox:debian" }] },
    });
    await registry.create(pods, pod("before", "n1"));
    await registry.create(pods, pod("elsewhere", "n2"));
    const events: ObjectEvent[] = [];
    const stream = n1.watchPods({ nodeName: "n1" });
    stream.on("data", (e: ObjectEvent) => events.push(e));
    stream.on("error", () => {});
    const until = async (cond: () => boolean) => {
      for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
      expect(cond()).toBe(true);
    };
    await until(() => events.length >= 1);
    expect(events[0]!.type).toBe("SYNC");
    expect(events[0]!.objectsJson.map((b) => JSON.parse(b.toString()).metadata.name)).toEqual(["before"]);

    await registry.create(pods, pod("after", "n1"));
    await until(() => events.some((e) => e.type === "ADDED"));
    const added = JSON.parse(events.find((e) => e.type === "ADDED")!.objectsJson[0]!.toString());
    expect(added.metadata.name).toBe("after");

    await n1.call("ReportPodStatus", {
      namespace: "default",
      name: "after",
      uid: added.metadata.uid,
      statusJson: Buffer.from(JSON.stringify({ phase: "Running", podIP: "10.244.0.5" })),
    });
    const stored = (await registry.get(pods, "default", "after")) as KubeObject & {
      status: { phase: string; podIP: string };
    };
    expect(stored.status).toMatchObject({ phase: "Running", podIP: "10.244.0.5" });
    await expect(
      n1.call("ReportPodStatus", { namespace: "default", name: "elsewhere", statusJson: Buffer.from("{}") }),
    ).rejects.toMatchObject({ reason: "Forbidden" });

    const graceful = await registry.delete(pods, "default", "after");
    expect(graceful.removed).toBe(false);
    await n1.call("FinalizePodDeletion", { namespace: "default", name: "after", uid: added.metadata.uid });
    await until(() => events.some((e) => e.type === "DELETED"));
    await expect(registry.get(pods, "default", "after")).rejects.toMatchObject({ reason: "NotFound" });
    stream.cancel();
  });
});
