/**
 * Stock kubectl (/usr/bin/kubectl, v1.32 on the project's machines) reads metrics.k8s.io from a
 * real apiserver over TLS with a real etcd: `kubectl top pod|node` print the usage the agents
 * reported, `api-resources` lists the group, and RBAC's `view` grants reading pod metrics in its
 * namespace only (as upstream's aggregated metrics reader does).
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Etcd3 } from "etcd3";
import { Registry as MetricsRegistry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeObject } from "../../foundation/api/object.js";
import { resourceForKind } from "../../foundation/api/resources.js";
import { ensureCa, ensureServingCert } from "../../foundation/pki/pki.js";
import { formatTopTable, nodeRows, podRows } from "../../kctl/commands/top.js";
import type { ClusterRole, ClusterRoleBinding, Node, Pod, Role, RoleBinding } from "../../proto/gen/api.js";
import { rbacAuthorizer } from "../apiserver/rbac-authorizer.js";
import { type ApiServer, startApiServer } from "../apiserver/server.js";
import { reconcileDefaultRbac } from "../bootstrap/default-rbac.js";
import type { Lister } from "../client/index.js";
import { InformerFactory } from "../client/informer-factory.js";
import { Registry } from "../registry/index.js";
import { Store } from "../store/index.js";
import { type EtcdServer, startEtcd } from "../testing/etcd-server.js";
import { metricsApi } from "./metrics-api.js";
import { UsageStore } from "./usage-store.js";

const run = promisify(execFile);
const haveKubectl = existsSync("/usr/bin/kubectl");
const tokens: Record<string, { name: string; groups?: string[] }> = {
  "admin-token-0123456789": { name: "admin", groups: ["system:masters"] },
  "jane-token-0123456789": { name: "jane" },
};

describe.skipIf(!haveKubectl)("kubectl top against metrics.k8s.io", () => {
  let etcd: EtcdServer;
  let client: Etcd3;
  let store: Store;
  let factory: InformerFactory;
  let server: ApiServer;
  let dir: string;
  const usage = new UsageStore(Date.now);

  beforeAll(async () => {
    etcd = await startEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
    const metrics = new MetricsRegistry();
    store = new Store({ client, metrics });
    const registry = new Registry({ store });
    await registry.ensureSystemNamespaces();
    await reconcileDefaultRbac(registry);
    const pod = (namespace: string, name: string): Pod & KubeObject => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace, labels: { app: name } },
      spec: { nodeName: "n1", containers: [{ name: "app", image: "busybox" }] },
    });
    const pods = resourceForKind("v1", "Pod")!;
    const web = await registry.create(pods, pod("default", "web"));
    const db = await registry.create(pods, pod("default", "db"));
    const sys = await registry.create(pods, pod("kube-system", "dns"));
    await registry.create(resourceForKind("v1", "Node")!, {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "n1" },
      status: { allocatable: { cpu: "2", memory: "4Gi" }, capacity: { cpu: "2", memory: "4Gi" } },
    });
    await registry.create(resourceForKind("rbac.authorization.k8s.io/v1", "RoleBinding")!, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "jane-view", namespace: "default" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
      subjects: [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "jane" }],
    });
    const t0 = Date.now() - 15_000;
    for (const [t, cpu] of [
      [t0, 0],
      [t0 + 15_000, 1],
    ] as const) {
      const stats = (p: KubeObject, cores: number) => ({
        namespace: p.metadata.namespace!,
        name: p.metadata.name!,
        uid: p.metadata.uid!,
        containers: [
          {
            name: "app",
            usage: {
              timestampMs: t,
              cpuUsageMicroseconds: cpu * cores * 15e6,
              memoryWorkingSetBytes: 64 << 20,
            },
          },
        ],
      });
      usage.record("n1", {
        nodeName: "n1",
        usage: { timestampMs: t, cpuUsageMicroseconds: cpu * 15e6, memoryWorkingSetBytes: 1 << 30 },
        pods: [stats(web, 0.25), stats(db, 0.1), stats(sys, 0.05)],
      });
    }
    factory = new InformerFactory(store);
    const lister = <T>(kind: string) =>
      factory.informer(resourceForKind("rbac.authorization.k8s.io/v1", kind)!).lister as unknown as Lister<T>;
    const rbac = {
      roles: lister<Role>("Role"),
      clusterRoles: lister<ClusterRole>("ClusterRole"),
      roleBindings: lister<RoleBinding>("RoleBinding"),
      clusterRoleBindings: lister<ClusterRoleBinding>("ClusterRoleBinding"),
    };
    const api = metricsApi({
      usage,
      pods: factory.pods().lister,
      nodes: factory.informer<Node & KubeObject>(resourceForKind("v1", "Node")!).lister,
      now: Date.now,
    });
    factory.start();
    await factory.waitForSync();
    dir = await mkdtemp(join(tmpdir(), "kctl-top-"));
    const ca = await ensureCa(dir);
    const cert = await ensureServingCert(dir, ca, { hosts: ["127.0.0.1"], commonName: "apiserver" });
    server = await startApiServer({
      registry,
      port: 0,
      metrics,
      tls: { cert: cert.certPem, key: cert.keyPem },
      authenticate: (t) => tokens[t],
      authorize: rbacAuthorizer(rbac),
      aggregatedApis: [api],
    });
  });

  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    factory?.stop();
    store?.close();
    client?.close();
    await etcd?.stop();
  });

  async function kubectl(token: string, ...args: string[]) {
    try {
      const out = await run(
        "/usr/bin/kubectl",
        [`--server=${server.url}`, `--token=${token}`, "--insecure-skip-tls-verify", ...args],
        { env: { ...process.env, KUBECONFIG: "/dev/null", HOME: dir } },
      );
      return { ...out, code: 0 };
    } catch (err) {
      const e = err as { stdout: string; stderr: string; code: number };
      return { stdout: e.stdout, stderr: e.stderr, code: e.code };
    }
  }
  const admin = (...args: string[]) => kubectl("admin-token-0123456789", ...args);
  const jane = (...args: string[]) => kubectl("jane-token-0123456789", ...args);

  it("prints each pod's CPU and memory, filtered by label", async () => {
    const all = await admin("top", "pod");
    expect(all.stderr).toBe("");
    expect(all.stdout.split("\n").map((l) => l.trim().split(/\s+/).join(" "))).toEqual(
      expect.arrayContaining(["NAME CPU(cores) MEMORY(bytes)", "db 100m 64Mi", "web 250m 64Mi"]),
    );
    const one = await admin("top", "pod", "-l", "app=web", "--containers");
    expect(one.stdout).toMatch(/web\s+app\s+250m\s+64Mi/);
    expect(one.stdout).not.toMatch(/db/);
    const missing = await admin("top", "pod", "nope");
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/podmetrics.metrics.k8s.io "nope" not found/);
  });

  it("prints the node's usage against its allocatable", async () => {
    const out = await admin("top", "node");
    expect(out.stderr).toBe("");
    expect(out.stdout).toMatch(/NAME\s+CPU\(cores\)\s+CPU\(%\)\s+MEMORY\(bytes\)\s+MEMORY\(%\)/);
    expect(out.stdout).toMatch(/n1\s+1000m\s+50%\s+1024Mi\s+25%/);
  });

  it("prints the same tables as kctl top from the same metrics", async () => {
    const raw = async (path: string) => JSON.parse((await admin("get", "--raw", path)).stdout);
    const podList = await raw("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods");
    expect((await admin("top", "pod", "--containers")).stdout).toBe(
      formatTopTable(podRows(podList.items, { allNamespaces: false, containers: true })),
    );
    const nodeList = await raw("/apis/metrics.k8s.io/v1beta1/nodes");
    expect((await admin("top", "node")).stdout).toBe(
      formatTopTable(nodeRows([{ name: "n1", allocatable: { cpu: "2", memory: "4Gi" } }], nodeList.items)),
    );
  });

  it("lists the metrics resources in api-resources", async () => {
    const out = await admin("api-resources", "--api-group=metrics.k8s.io");
    expect(out.stdout).toMatch(/nodes\s+metrics.k8s.io\/v1beta1\s+false\s+NodeMetrics/);
    expect(out.stdout).toMatch(/pods\s+metrics.k8s.io\/v1beta1\s+true\s+PodMetrics/);
  });

  it("lets a user bound to view read pod metrics in that namespace only, and no node metrics", async () => {
    expect((await jane("top", "pod", "-n", "default")).stdout).toMatch(/web\s+250m/);
    const other = await jane("top", "pod", "-n", "kube-system");
    expect(other.code).not.toBe(0);
    expect(other.stderr).toMatch(/cannot list resource "pods" in API group "metrics.k8s.io"/);
    const nodes = await jane("top", "node");
    expect(nodes.code).not.toBe(0);
    expect(nodes.stderr).toMatch(/forbidden/);
  });
});
