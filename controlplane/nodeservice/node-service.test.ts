import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServiceError } from "@grpc/grpc-js";
import { Etcd3 } from "etcd3";
import { Registry as MetricsRegistry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { KubeObject } from "../../foundation/api/object.js";
import { resourceForKind } from "../../foundation/api/resources.js";
import { ensureCa, ensureServingCert, issueCertificate, type KeyPair } from "../../foundation/pki/pki.js";
import { realClock } from "../../foundation/util/clock.js";
import { fromServiceError, NodeClient } from "../../node-agent/agent/node-client.js";
import type { PersistentVolumeClaim } from "../../proto/gen/api.js";
import type { ObjectEvent } from "../../proto/gen/node.js";
import { nodeRelationship } from "../client/index.js";
import { InformerFactory } from "../client/informer-factory.js";
import { UsageStore } from "../metrics-api/usage-store.js";
import { Registry } from "../registry/index.js";
import { defaultIssuer, TokenSigner } from "../serviceaccount/tokens.js";
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
  const usage = new UsageStore(Date.now);
  /** How far the NodeService's clock runs ahead of the real one: a test moves it to stall a call. */
  let aheadMs = 0;
  const clock = { ...realClock, now: () => Date.now() + aheadMs };

  // One certificate per node and signer: a node's name is bound to the key it registered with.
  const certificates = new Map<string, KeyPair>();
  async function nodeClient(name: string, signer: KeyPair = ca): Promise<NodeClient> {
    const id = `${name}/${signer.certPem}`;
    const pair =
      certificates.get(id) ??
      (await issueCertificate(signer, {
        commonName: `system:node:${name}`,
        organization: "system:nodes",
        client: true,
      }));
    certificates.set(id, pair);
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
    const nodeObjects = ObjectDispatcher.all(factory.informer(resourceForKind("v1", "Node")!));
    const referenced = {
      ConfigMap: ObjectDispatcher.byKey(factory.informer(resourceForKind("v1", "ConfigMap")!)),
      Secret: ObjectDispatcher.byKey(factory.informer(resourceForKind("v1", "Secret")!)),
    };
    const related = nodeRelationship({
      pods: factory.pods().lister,
      claims: factory.informer<PersistentVolumeClaim & KubeObject>(
        resourceForKind("v1", "PersistentVolumeClaim")!,
      ).lister,
    });
    factory.start();
    server = await startNodeServiceServer({
      host: "127.0.0.1",
      port: 0,
      caPem: ca.certPem,
      serving,
      registry,
      allocator: new PodCidrAllocator(client, "10.244.0.0/16"),
      pods,
      related,
      watchable: { Service: services, Node: nodeObjects },
      referenced,
      tunnels: new TunnelRegistry(),
      tokens: {
        registry,
        signer: new TokenSigner(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey),
        audiences: [defaultIssuer],
      },
      usage,
      clock,
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

  it("drops a renewal still unwritten when the agent gives up on it, so it cannot age the lease", async () => {
    const n1 = await nodeClient("n1");
    await n1.call("RenewLease", { nodeName: "n1" });
    const before = (await registry.get(leases, nodeLeaseNamespace, "n1")) as KubeObject & {
      spec: { renewTime: string };
    };
    // The lease write stalls for longer than the renew period (10 s with a 40 s lease), as one
    // queued behind a write lost with a dead etcd leader did.
    const patch = registry.patch.bind(registry);
    const stall = vi.spyOn(registry, "patch").mockImplementationOnce(async (...args) => {
      aheadMs += 11_000;
      return patch(...args);
    });
    try {
      await expect(n1.call("RenewLease", { nodeName: "n1" })).rejects.toMatchObject({ reason: "Timeout" });
    } finally {
      stall.mockRestore();
      aheadMs = 0;
    }
    const after = (await registry.get(leases, nodeLeaseNamespace, "n1")) as KubeObject & {
      spec: { renewTime: string };
    };
    expect(after.spec.renewTime).toBe(before.spec.renewTime);
    // The next renewal, on time, is written.
    await n1.call("RenewLease", { nodeName: "n1" });
    const next = (await registry.get(leases, nodeLeaseNamespace, "n1")) as KubeObject & {
      spec: { renewTime: string };
    };
    expect(Date.parse(next.spec.renewTime)).toBeGreaterThan(Date.parse(before.spec.renewTime));
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

  describe("an attacker holding node n1's certificate", () => {
    const secrets = resourceForKind("v1", "Secret")!;
    const configMaps = resourceForKind("v1", "ConfigMap")!;
    const events = resourceForKind("v1", "Event")!;
    const object = (kind: string, namespace: string, name: string) => ({
      apiVersion: "v1",
      kind,
      metadata: { name, namespace },
      data: { k: "dg==" },
    });
    const pod = (namespace: string, name: string, nodeName: string, spec: object = {}) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace },
      spec: { nodeName, containers: [{ name: "c", image: "busybox:1.36" }], ...spec },
    });
    // A node is answered from the informers, as its agent learns of pods: wait until they hold it.
    const createPod = async (obj: ReturnType<typeof pod>) => {
      const created = await registry.create(pods, obj);
      const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
      await vi.waitFor(() =>
        expect(factory.pods().lister.get(key)?.metadata.resourceVersion).toBe(
          created.metadata.resourceVersion,
        ),
      );
    };

    beforeAll(async () => {
      await registry.create(secrets, {
        ...object("Secret", "kube-system", "bootstrap-token-abcdef"),
        type: "bootstrap.kubernetes.io/token",
      });
      await registry.create(secrets, object("Secret", "default", "mine"));
      await registry.create(secrets, object("Secret", "default", "theirs"));
      await registry.create(configMaps, { ...object("ConfigMap", "default", "mine-cm"), data: { k: "v" } });
      // n1 runs a pod in kube-system (as a DaemonSet would) and one in default that uses "mine".
      await createPod(pod("kube-system", "proxy-n1", "n1"));
      await createPod(
        pod("default", "uses-mine", "n1", {
          volumes: [{ name: "v", secret: { secretName: "mine" } }],
          containers: [
            { name: "c", image: "busybox:1.36", envFrom: [{ configMapRef: { name: "mine-cm" } }] },
          ],
        }),
      );
      await createPod(
        pod("default", "uses-theirs", "n2", { volumes: [{ name: "v", secret: { secretName: "theirs" } }] }),
      );
    });

    it("cannot read a bootstrap-token Secret in kube-system, though it runs a pod there", async () => {
      const n1 = await nodeClient("n1");
      await expect(
        n1.call("GetObject", { kind: "Secret", namespace: "kube-system", name: "bootstrap-token-abcdef" }),
      ).rejects.toMatchObject({ reason: "Forbidden" });
    });

    it("cannot read a Secret only another node's pod refers to, but reads what its own pods use", async () => {
      const n1 = await nodeClient("n1");
      await expect(
        n1.call("GetObject", { kind: "Secret", namespace: "default", name: "theirs" }),
      ).rejects.toMatchObject({ reason: "Forbidden" });
      const mine = await n1.call("GetObject", { kind: "Secret", namespace: "default", name: "mine" });
      expect(JSON.parse(mine.objectJson.toString()).metadata.name).toBe("mine");
      const cm = await n1.call("GetObject", { kind: "ConfigMap", namespace: "default", name: "mine-cm" });
      expect(JSON.parse(cm.objectJson.toString()).data).toEqual({ k: "v" });
      await expect(
        n1.call("GetObject", { kind: "ConfigMap", namespace: "default", name: "mine" }),
      ).rejects.toMatchObject({ reason: "Forbidden" });
    });

    it("watches one Secret its pod uses, and no Secret another node's pod uses, nor all of them", async () => {
      const n1 = await nodeClient("n1");
      const watch = (namespace: string, name: string) => {
        const events: ObjectEvent[] = [];
        let failure: unknown;
        const stream = n1.watchObjects({ nodeName: "n1", kind: "Secret", namespace, name });
        stream.on("data", (e: ObjectEvent) => events.push(e));
        stream.on("error", (err: ServiceError) => {
          failure = fromServiceError(err);
        });
        return { stream, events, failure: () => failure };
      };
      const refused = async (namespace: string, name: string) => {
        const w = watch(namespace, name);
        await vi.waitFor(() => expect(w.failure()).toBeDefined());
        expect(w.events).toEqual([]);
        return w.failure();
      };
      expect(await refused("default", "theirs")).toMatchObject({ reason: "Forbidden" });
      expect(await refused("kube-system", "bootstrap-token-abcdef")).toMatchObject({ reason: "Forbidden" });
      expect(await refused("default", "")).toMatchObject({ reason: "BadRequest" });

      const mine = watch("default", "mine");
      await vi.waitFor(() => expect(mine.events.length).toBe(1));
      expect(mine.events[0]!.type).toBe("SYNC");
      expect(mine.events[0]!.objectsJson.map((b) => JSON.parse(b.toString()).metadata.name)).toEqual([
        "mine",
      ]);
      const current = await registry.get(secrets, "default", "mine");
      await registry.update(secrets, "default", "mine", { ...current, data: { k: "dzI=" } });
      const theirs = await registry.get(secrets, "default", "theirs");
      await registry.update(secrets, "default", "theirs", { ...theirs, data: {} });
      await vi.waitFor(() => expect(mine.events.length).toBe(2));
      expect(mine.events[1]!.type).toBe("MODIFIED");
      expect(JSON.parse(mine.events[1]!.objectsJson[0]!.toString()).data).toEqual({ k: "dzI=" });
      mine.stream.cancel();
    });

    it("reads the pull secret its pod names, and no same-named one of another namespace or node", async () => {
      const pullSecret = (namespace: string) => ({
        ...object("Secret", namespace, "regcred"),
        type: "kubernetes.io/dockerconfigjson",
        data: { ".dockerconfigjson": Buffer.from('{"auths":{}}').toString("base64") },
      });
      await registry.create(resourceForKind("v1", "Namespace")!, {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: "team" },
      });
      await registry.create(secrets, pullSecret("team"));
      await registry.create(secrets, pullSecret("default"));
      await createPod(pod("team", "pulls", "n1", { imagePullSecrets: [{ name: "regcred" }] }));
      const n1 = await nodeClient("n1");
      const read = await n1.call("GetObject", { kind: "Secret", namespace: "team", name: "regcred" });
      expect(JSON.parse(read.objectJson.toString()).metadata.namespace).toBe("team");
      await expect(
        n1.call("GetObject", { kind: "Secret", namespace: "default", name: "regcred" }),
      ).rejects.toMatchObject({ reason: "Forbidden" });
      const n2 = await nodeClient("n2");
      await expect(
        n2.call("GetObject", { kind: "Secret", namespace: "team", name: "regcred" }),
      ).rejects.toMatchObject({ reason: "Forbidden" });
    });

    it("gets ServiceAccount tokens only for its own pods, each bound to that pod", async () => {
      await registry.create(resourceForKind("v1", "ServiceAccount")!, {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "default", namespace: "default" },
      });
      const n1 = await nodeClient("n1");
      const mine = await registry.get(pods, "default", "uses-mine");
      const { token } = await n1.call("RequestPodToken", {
        namespace: "default",
        pod: "uses-mine",
        podUid: mine.metadata.uid!,
      });
      const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
      expect(claims.sub).toBe("system:serviceaccount:default:default");
      expect(claims["kubernetes.io"].pod).toEqual({ name: "uses-mine", uid: mine.metadata.uid });
      await expect(
        n1.call("RequestPodToken", { namespace: "default", pod: "uses-theirs" }),
      ).rejects.toMatchObject({
        reason: "Forbidden",
      });
      await expect(
        n1.call("RequestPodToken", { namespace: "default", pod: "uses-mine", podUid: "another-pod-uid" }),
      ).rejects.toMatchObject({ reason: "Forbidden" });
    });

    it("mints a pod's token from the informer's copy of the pod: etcd is read for the ServiceAccount only", async () => {
      const n1 = await nodeClient("n1");
      const mine = await registry.get(pods, "default", "uses-mine");
      const reads = vi.spyOn(registry, "get");
      try {
        await n1.call("RequestPodToken", {
          namespace: "default",
          pod: "uses-mine",
          podUid: mine.metadata.uid!,
        });
        expect(reads.mock.calls.map(([resource]) => resource.kind)).toEqual(["ServiceAccount"]);
      } finally {
        reads.mockRestore();
      }
    });

    it("reads only the claims its pods use and the volumes bound to them or placed on it", async () => {
      const claims = resourceForKind("v1", "PersistentVolumeClaim")!;
      const volumes = resourceForKind("v1", "PersistentVolume")!;
      const claim = (name: string, volumeName: string) => ({
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name, namespace: "default" },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, volumeName },
      });
      const volume = (name: string, node: string, claimName: string) => ({
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: { name },
        spec: {
          capacity: { storage: "1Gi" },
          accessModes: ["ReadWriteOnce"],
          local: { path: `/var/lib/kctl/storage/${name}` },
          nodeAffinity: {
            required: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [node] }] },
              ],
            },
          },
          claimRef: { namespace: "default", name: claimName },
        },
      });
      await registry.create(claims, claim("data-mine", "pv-mine"));
      await registry.create(claims, claim("data-theirs", "pv-theirs"));
      await registry.create(volumes, volume("pv-mine", "n2", "data-mine"));
      await registry.create(volumes, volume("pv-theirs", "n2", "data-theirs"));
      await registry.create(volumes, volume("pv-on-n1", "n1", "gone"));
      const claimVolume = (claimName: string) => ({
        volumes: [{ name: "v", persistentVolumeClaim: { claimName } }],
      });
      await createPod(pod("default", "db-mine", "n1", claimVolume("data-mine")));
      await createPod(pod("default", "db-theirs", "n2", claimVolume("data-theirs")));
      const n1 = await nodeClient("n1");
      const get = (kind: string, name: string) => n1.call("GetObject", { kind, namespace: "default", name });
      await expect(get("PersistentVolumeClaim", "data-theirs")).rejects.toMatchObject({
        reason: "Forbidden",
      });
      // Through its own pod's claim it may not reach a volume that claim is not bound to.
      await expect(get("PersistentVolume", "pv-theirs")).rejects.toMatchObject({ reason: "Forbidden" });
      expect(
        JSON.parse((await get("PersistentVolumeClaim", "data-mine")).objectJson.toString()).spec.volumeName,
      ).toBe("pv-mine");
      expect(JSON.parse((await get("PersistentVolume", "pv-mine")).objectJson.toString()).metadata.name).toBe(
        "pv-mine",
      );
      expect(
        JSON.parse((await get("PersistentVolume", "pv-on-n1")).objectJson.toString()).metadata.name,
      ).toBe("pv-on-n1");
      await expect(get("PersistentVolume", "pv-none")).rejects.toMatchObject({ reason: "NotFound" });
    });

    it("cannot register kubernetes.io/hostname as another node's name", async () => {
      const n1 = await nodeClient("n1");
      await expect(
        n1.call("Register", { nodeName: "n1", labels: { "kubernetes.io/hostname": "n2" } }),
      ).rejects.toMatchObject({ reason: "Forbidden" });
      const node = (await registry.get(nodes, undefined, "n1")) as KubeObject;
      expect(node.metadata.labels?.["kubernetes.io/hostname"]).toBe("n1");
    });

    it("cannot give itself node-restriction.kubernetes.io/ or other reserved labels, but may set its own", async () => {
      const n1 = await nodeClient("n1");
      for (const label of [
        "node-restriction.kubernetes.io/trusted",
        "node-role.kubernetes.io/control-plane",
      ]) {
        await expect(n1.call("Register", { nodeName: "n1", labels: { [label]: "" } })).rejects.toMatchObject({
          reason: "Forbidden",
        });
      }
      await n1.call("Register", {
        nodeName: "n1",
        labels: {
          "topology.kubernetes.io/zone": "a",
          "node.kubernetes.io/pool": "p",
          "example.com/gpu": "yes",
        },
      });
      const node = (await registry.get(nodes, undefined, "n1")) as KubeObject;
      expect(node.metadata.labels).toMatchObject({
        "topology.kubernetes.io/zone": "a",
        "example.com/gpu": "yes",
      });
      expect(Object.keys(node.metadata.labels ?? {}).some((k) => k.startsWith("node-restriction"))).toBe(
        false,
      );
    });

    it("cannot report a podIP outside its podCIDR (Service traffic follows podIP)", async () => {
      const n1 = await nodeClient("n1");
      const target = (await registry.get(pods, "default", "uses-mine")) as KubeObject;
      for (const status of [
        { podIP: "10.96.0.10" },
        { podIP: "10.244.0.7", podIPs: [{ ip: "10.244.1.7" }] },
      ]) {
        await expect(
          n1.call("ReportPodStatus", {
            namespace: "default",
            name: "uses-mine",
            uid: target.metadata.uid!,
            statusJson: Buffer.from(JSON.stringify({ phase: "Running", ...status })),
          }),
        ).rejects.toMatchObject({ reason: "Forbidden" });
      }
      const stored = (await registry.get(pods, "default", "uses-mine")) as KubeObject & {
        status?: { podIP?: string };
      };
      expect(stored.status?.podIP ?? "").toBe("");
    });

    it("cannot watch another node's pods: its stream ends at once with PERMISSION_DENIED and no pod", async () => {
      const n1 = await nodeClient("n1");
      const stream = n1.watchPods({ nodeName: "n2" });
      const events: ObjectEvent[] = [];
      stream.on("data", (e: ObjectEvent) => events.push(e));
      const ended = new Promise<ServiceError>((resolve) => stream.on("error", resolve));
      // The refusal must reach the agent's stream: one left open would wait for pods forever.
      const err = await Promise.race([
        ended,
        new Promise<undefined>((resolve) => setTimeout(resolve, 5_000, undefined)),
      ]);
      expect(err?.code).toBe(7);
      expect(fromServiceError(err!)).toMatchObject({ reason: "Forbidden" });
      expect(events).toEqual([]);
    });

    it("cannot write the status of another node's pod", async () => {
      const n1 = await nodeClient("n1");
      await expect(
        n1.call("ReportPodStatus", {
          namespace: "default",
          name: "uses-theirs",
          statusJson: Buffer.from(JSON.stringify({ phase: "Failed" })),
        }),
      ).rejects.toMatchObject({ reason: "Forbidden" });
    });

    it("cannot report usage for another node or of another node's pod; its own pods' usage is kept", async () => {
      const n1 = await nodeClient("n1");
      const theirs = (await registry.get(pods, "default", "uses-theirs")) as KubeObject;
      const mine = (await registry.get(pods, "default", "uses-mine")) as KubeObject;
      const sample = (t: number) => ({
        timestampMs: t,
        cpuUsageMicroseconds: t * 1000,
        memoryWorkingSetBytes: 4096,
      });
      const stats = (name: string, uid: string | undefined, t: number) => ({
        namespace: "default",
        name,
        uid: uid ?? "",
        containers: [{ name: "c", usage: sample(t) }],
      });
      await expect(
        n1.call("ReportStats", { nodeName: "n2", usage: sample(1), pods: [] }),
      ).rejects.toMatchObject({ reason: "Forbidden" });
      // The pod cache may lag the create above: retry until n1's own pod is accepted.
      for (let t = 1_000; t <= 30_000 && !usage.pod("default", "uses-mine"); t += 1_000) {
        await n1.call("ReportStats", {
          nodeName: "n1",
          usage: sample(t),
          pods: [stats("uses-mine", mine.metadata.uid, t)],
        });
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(usage.pod("default", "uses-mine")?.containers[0]?.usage.cpuNanoCores).toBe(1_000_000_000);
      for (const t of [40_000, 41_000]) {
        await expect(
          n1.call("ReportStats", {
            nodeName: "n1",
            usage: sample(t),
            pods: [stats("uses-theirs", theirs.metadata.uid, t)],
          }),
        ).rejects.toMatchObject({ reason: "Forbidden" });
      }
      expect(usage.pod("default", "uses-theirs")).toBeUndefined();
    });

    it("cannot record events about another node's pods or another node, only about its own", async () => {
      const n1 = await nodeClient("n1");
      const event = (name: string, involvedObject: object, namespace = "default") => ({
        eventJson: Buffer.from(
          JSON.stringify({
            apiVersion: "v1",
            kind: "Event",
            metadata: { name, namespace },
            involvedObject,
            reason: "Killing",
            message: "m",
            type: "Normal",
          }),
        ),
      });
      await expect(
        n1.call("RecordEvent", event("e1", { kind: "Pod", namespace: "default", name: "uses-theirs" })),
      ).rejects.toMatchObject({ reason: "Forbidden" });
      await expect(n1.call("RecordEvent", event("e2", { kind: "Node", name: "n2" }))).rejects.toMatchObject({
        reason: "Forbidden",
      });
      await expect(
        n1.call(
          "RecordEvent",
          event("e3", { kind: "Pod", namespace: "default", name: "uses-mine" }, "kube-system"),
        ),
      ).rejects.toMatchObject({ reason: "Forbidden" });
      await n1.call("RecordEvent", event("e4", { kind: "Pod", namespace: "default", name: "uses-mine" }));
      expect((await registry.get(events, "default", "e4")).metadata.name).toBe("e4");
    });
  });
});
