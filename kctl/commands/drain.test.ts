import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeObject } from "../../foundation/api/object.js";
import { resolveResourceName } from "../../foundation/api/resources.js";
import type { Node, Pod } from "../../proto/gen/api.js";
import { runKctl } from "../testing/run-kctl.js";
import { startTestCluster, type TestCluster } from "../testing/test-cluster.js";

const nodes = resolveResourceName("nodes")!;
const pods = resolveResourceName("pods")!;
const budgets = resolveResourceName("poddisruptionbudgets")!;

interface PodOptions {
  node: string;
  owned?: boolean;
  /** Owned by a DaemonSet rather than a ReplicaSet. */
  daemon?: boolean;
  /** Labels, and Running and Ready. */
  readyWith?: Record<string, string>;
  emptyDir?: boolean;
  phase?: string;
}

describe("kctl cordon, uncordon and drain against a real apiserver and etcd", () => {
  let cluster: TestCluster;
  const kctl = (...argv: string[]) => runKctl(argv, { env: { KCTL_CONFIG: cluster.configPath } });
  const node = async (name: string) =>
    (await cluster.registry.get(nodes, undefined, name)) as Node & KubeObject;
  const podNames = async (nodeName: string) =>
    (await cluster.registry.list(pods, { fieldSelector: `spec.nodeName=${nodeName}` })).items
      .map((p) => p.metadata.name)
      .sort();
  const addPod = async (name: string, o: PodOptions) => {
    const created = await cluster.registry.create(pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name,
        namespace: "default",
        ...(o.readyWith ? { labels: o.readyWith } : {}),
        ...(o.owned || o.daemon
          ? {
              ownerReferences: [
                o.daemon
                  ? { apiVersion: "apps/v1", kind: "DaemonSet", name: "agent", uid: "u2", controller: true }
                  : { apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: "u1", controller: true },
              ],
            }
          : {}),
      },
      spec: {
        nodeName: o.node,
        containers: [{ name: "c", image: "busybox" }],
        ...(o.emptyDir ? { volumes: [{ name: "scratch", emptyDir: {} }] } : {}),
      },
    });
    if (o.phase) await cluster.registry.patchStatus(pods, "default", name, { status: { phase: o.phase } });
    if (o.readyWith)
      await cluster.registry.patchStatus(pods, "default", name, {
        status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
      });
    return created as Pod & KubeObject;
  };

  beforeAll(async () => {
    cluster = await startTestCluster();
    for (const name of ["n1", "n2", "n3", "n4", "n5", "n6"])
      await cluster.registry.create(nodes, {
        apiVersion: "v1",
        kind: "Node",
        metadata: { name, labels: { pool: name === "n3" ? "b" : ["n1", "n2"].includes(name) ? "a" : "c" } },
      });
  });
  afterAll(() => cluster?.stop());

  it("cordons and uncordons by name or selector, saying when there was nothing to do", async () => {
    expect(await kctl("cordon", "n1")).toMatchObject({ code: 0, stdout: "node/n1 cordoned\n" });
    expect((await node("n1")).spec?.unschedulable).toBe(true);
    expect((await kctl("cordon", "node/n1")).stdout).toBe("node/n1 already cordoned\n");
    expect(await kctl("uncordon", "n1")).toMatchObject({ code: 0, stdout: "node/n1 uncordoned\n" });
    expect((await node("n1")).spec?.unschedulable).toBe(false);
    expect((await kctl("cordon", "-l", "pool=a")).stdout).toBe("node/n1 cordoned\nnode/n2 cordoned\n");
    expect((await kctl("uncordon", "-l", "pool=a")).stdout).toBe("node/n1 uncordoned\nnode/n2 uncordoned\n");
  });

  it("refuses bad input with a message naming it, changing nothing", async () => {
    const missing = await kctl("cordon", "nope");
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("nope");
    const none = await kctl("drain");
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain("name at least one NODE");
    const both = await kctl("uncordon", "n1", "-l", "pool=a");
    expect(both.stderr).toContain("not both");
    const badTimeout = await kctl("drain", "n2", "--timeout", "soon");
    expect(badTimeout.stderr).toContain('--timeout: "soon"');
    const badGrace = await kctl("drain", "n2", "--grace-period", "-1");
    expect(badGrace.stderr).toContain("--grace-period");
    expect((await node("n2")).spec?.unschedulable).toBe(false);
    expect((await kctl("cordon", "-l", "pool=zzz")).stderr).toContain("no nodes match");
  });

  it("refuses pods nothing would replace or whose emptyDir would be lost, naming them, and leaves the node cordoned", async () => {
    await addPod("lonely", { node: "n2" });
    await addPod("scratchy", { node: "n2", owned: true, emptyDir: true });
    await addPod("done", { node: "n2", phase: "Succeeded" });
    await addPod("elsewhere", { node: "n3" });
    const res = await kctl("drain", "n2");
    expect(res.code).toBe(1);
    expect(res.stdout).toBe("node/n2 cordoned\n");
    expect(res.stderr).toContain(
      "cannot delete Pods that declare no controller (use --force to override): default/lonely",
    );
    expect(res.stderr).toContain(
      "cannot delete Pods with local storage (use --delete-emptydir-data to override): default/scratchy",
    );
    expect(await podNames("n2")).toEqual(["done", "lonely", "scratchy"]);
    expect((await node("n2")).spec?.unschedulable).toBe(true);
  });

  it("with the overrides deletes every pod of the node, waits until they are gone, and leaves other nodes alone", async () => {
    const res = await kctl("drain", "n2", "--force", "--delete-emptydir-data", "--grace-period", "0");
    expect(res.code).toBe(0);
    expect(res.stderr).toBe("Warning: deleting Pods that declare no controller: default/lonely\n");
    expect(res.stdout.split("\n")).toEqual([
      "node/n2 already cordoned",
      "evicting pod default/done",
      "evicting pod default/lonely",
      "evicting pod default/scratchy",
      "pod/done evicted",
      "pod/lonely evicted",
      "pod/scratchy evicted",
      "node/n2 drained",
      "",
    ]);
    expect(await podNames("n2")).toEqual([]);
    expect(await podNames("n3")).toEqual(["elsewhere"]);
  });

  it("waits for pods to finish their grace period, as their node's agent deletes them", async () => {
    const pod = await addPod("graceful", { node: "n1", owned: true });
    const out: string[] = [];
    const draining = runKctl(["drain", "n1"], {
      env: { KCTL_CONFIG: cluster.configPath },
      onStdout: (s) => out.push(s),
    });
    // The pod is terminating, not gone, until its agent confirms with a zero grace period.
    await expect
      .poll(async () => (await cluster.registry.get(pods, "default", "graceful")).metadata.deletionTimestamp)
      .toBeTruthy();
    expect(out.at(-1)).not.toContain("drained");
    await cluster.registry.delete(pods, "default", "graceful", {
      gracePeriodSeconds: 0,
      preconditions: { uid: pod.metadata.uid ?? "" },
    });
    const res = await draining;
    expect(res.code).toBe(0);
    expect(res.stdout).toContain("pod/graceful evicted\nnode/n1 drained\n");
  });

  it("gives up after --timeout, naming the pods still there", async () => {
    await addPod("stuck", { node: "n3", owned: true });
    const res = await kctl("drain", "n3", "--force", "--timeout", "1s");
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      "timed out after 1s draining node/n3; pods still there: default/elsewhere, default/stuck",
    );
  });

  it("refuses DaemonSet pods without --ignore-daemonsets, and leaves them running with it", async () => {
    await addPod("agent-x", { node: "n4", daemon: true });
    await addPod("worker", { node: "n4", owned: true });
    const refused = await kctl("drain", "n4");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): default/agent-x",
    );
    expect(await podNames("n4")).toEqual(["agent-x", "worker"]);
    const res = await kctl("drain", "n4", "--ignore-daemonsets", "--grace-period", "0");
    expect(res.code).toBe(0);
    expect(res.stderr).toBe("Warning: ignoring DaemonSet-managed Pods: default/agent-x\n");
    expect(await podNames("n4")).toEqual(["agent-x"]);
  });

  it("goes through the eviction subresource: a budget allowing no disruption holds the drain (retried on 429) until it allows one", async () => {
    await addPod("db-0", { node: "n5", owned: true, readyWith: { app: "db" } });
    await cluster.registry.create(budgets, {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: "db", namespace: "default" },
      spec: { minAvailable: 1, selector: { matchLabels: { app: "db" } } },
    });
    const setAllowed = (n: number) =>
      cluster.registry.updateStatus(budgets, "default", "db", {
        metadata: { name: "db" },
        status: {
          observedGeneration: 1,
          disruptionsAllowed: n,
          currentHealthy: 1,
          desiredHealthy: 1 - n,
          expectedPods: 1,
        },
      });
    await setAllowed(0);
    const err: string[] = [];
    const draining = runKctl(["drain", "n5", "--grace-period", "0", "--timeout", "60s"], {
      env: { KCTL_CONFIG: cluster.configPath },
      onStderr: (soFar) => err.splice(0, err.length, soFar),
    });
    await expect
      .poll(() => err.join(""), { timeout: 20_000 })
      .toContain(
        'error when evicting pods/"db-0" -n "default" (will retry after 5s): Cannot evict pod as it would violate the pod\'s disruption budget.',
      );
    expect(await podNames("n5")).toEqual(["db-0"]);
    await setAllowed(1);
    const res = await draining;
    expect(res.code).toBe(0);
    expect(res.stdout).toContain("pod/db-0 evicted\nnode/n5 drained\n");
    expect(await podNames("n5")).toEqual([]);
  });

  it("gives up after --timeout while a budget still refuses", async () => {
    await addPod("db-1", { node: "n6", owned: true, readyWith: { app: "db" } });
    const res = await kctl("drain", "n6", "--timeout", "2s");
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      "timed out after 2s draining node/n6: evicting pod default/db-1: Cannot evict pod",
    );
    expect(await podNames("n6")).toEqual(["db-1"]);
  });
});
