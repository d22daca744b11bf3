import { describe, expect, it } from "vitest";
import { atMostOneAnnotation } from "../../../foundation/api/at-most-one.js";
import { ApiError } from "../../../foundation/api/errors.js";
import { rfc3339 } from "../../../foundation/util/time.js";
import type { Lease, Node, Pod, Taint, Toleration } from "../../../proto/gen/api.js";
import type { ControllerClient } from "../../client/controller-client.js";
import { byNodeNameIndex, type Lister } from "../../client/index.js";
import { type Action, FakeCluster } from "../testing/fake-cluster.js";
import { pod, t0 } from "../testing/fixtures.js";
import {
  type EvictionDeleteOptions,
  leasesResource,
  NodeLifecycleController,
  nodesResource,
  podsResource,
} from "./node-lifecycle-controller.js";

const s = (seconds: number) => seconds * 1000;

function setup(o: { defaultTolerationSeconds?: number; gracePeriodMs?: number } = {}) {
  const cluster = new FakeCluster({ now: t0 });
  const podCache = cluster.lister<Pod>(podsResource);
  // The fake caches index by owner only; the shared pod informer also indexes by node.
  const pods: Lister<Pod> = {
    ...podCache,
    get: (key) => podCache.get(key),
    list: () => podCache.list(),
    size: () => podCache.size(),
    byIndex: (index, value) =>
      index === byNodeNameIndex
        ? podCache.list().filter((p) => p.spec?.nodeName === value)
        : podCache.byIndex(index, value),
  };
  const deletes: { name: string; opts: EvictionDeleteOptions | undefined }[] = [];
  const client: ControllerClient = {
    ...cluster.client,
    delete: (info, namespace, name, opts) => {
      deletes.push({ name, opts });
      return cluster.client.delete(info, namespace, name, opts);
    },
  };
  const controller = new NodeLifecycleController({
    nodes: cluster.lister<Node>(nodesResource),
    leases: cluster.lister<Lease>(leasesResource),
    pods,
    client,
    recorder: cluster.recorder,
    clock: cluster.clock,
    queue: cluster.workQueue,
    ...(o.defaultTolerationSeconds !== undefined
      ? { defaultTolerationSeconds: o.defaultTolerationSeconds }
      : {}),
    ...(o.gracePeriodMs !== undefined ? { gracePeriodMs: o.gracePeriodMs } : {}),
  });
  cluster.addHandler(nodesResource, controller.nodeHandler);
  cluster.addHandler(leasesResource, controller.leaseHandler);
  cluster.addHandler(podsResource, controller.podHandler);
  return { cluster, controller, deletes };
}

function node(name: string, ready = "True", taints?: Taint[]): Node {
  const n: Node = {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, creationTimestamp: rfc3339(t0) },
    status: {
      conditions: [
        {
          type: "Ready",
          status: ready,
          reason: "AgentReady",
          lastHeartbeatTime: rfc3339(t0),
          lastTransitionTime: rfc3339(t0),
        },
      ],
    },
  };
  if (taints) n.spec = { taints };
  return n;
}

function lease(name: string, renewed: number, namespace = "kube-node-lease"): Lease {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name, namespace },
    spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: new Date(renewed).toISOString() },
  };
}

function podOn(name: string, nodeName: string, tolerations?: Toleration[], deleting = false): Pod {
  const p = pod(name, { node: nodeName, uid: `uid-${name}`, deleting });
  if (tolerations) p.spec!.tolerations = tolerations;
  return p;
}

/** A lease that stays fresh through every test: an agent that keeps renewing. */
const liveLease = (name: string) => lease(name, t0 + s(86_400));

const brief = (a: Action): string => `${a.verb} ${a.resource} ${a.name}`;
const storedNode = (cluster: FakeCluster, name: string) => cluster.stored<Node>(nodesResource, name)!;
const unreachable = (at: number): Taint[] => [
  { key: "node.kubernetes.io/unreachable", effect: "NoSchedule", timeAdded: rfc3339(at) },
  { key: "node.kubernetes.io/unreachable", effect: "NoExecute", timeAdded: rfc3339(at) },
];

describe("node lifecycle: health from the lease", () => {
  it("does nothing to a node with a fresh lease but asks to look again just after the lease would expire", async () => {
    const { cluster, controller } = setup();
    cluster.seed(nodesResource, node("n1"));
    cluster.seed(leasesResource, lease("n1", t0 - s(10)));
    cluster.clock.advance(s(5));
    await controller.sync("n1");
    expect(cluster.takeActions()).toEqual([]);
    // Judged from the controller's start (t0), not the older renewal: 40 s + 1 ms after t0, 5 s gone.
    expect(cluster.queue.after).toEqual([["n1", s(35) + 1]]);
  });

  it("marks a silent node Unknown and taints it unreachable (NoSchedule and NoExecute), once", async () => {
    const { cluster, controller } = setup();
    cluster.seed(nodesResource, node("n1"));
    cluster.seed(leasesResource, lease("n1", t0));
    cluster.clock.advance(s(41));
    await controller.sync("n1");
    expect(cluster.takeActions().map(brief)).toEqual(["updateStatus nodes n1", "patch nodes n1"]);
    const n = storedNode(cluster, "n1");
    expect(n.status?.conditions).toEqual([
      {
        type: "Ready",
        status: "Unknown",
        reason: "NodeStatusUnknown",
        message: "Kubelet stopped posting node status.",
        lastHeartbeatTime: rfc3339(t0),
        lastTransitionTime: rfc3339(t0 + s(41)),
      },
    ]);
    expect(n.spec?.taints).toEqual(unreachable(t0 + s(41)));
    expect(cluster.events.map((e) => `${e.reason} ${e.message}`)).toEqual([
      "NodeNotReady Node n1 status is now: NodeNotReady",
    ]);

    cluster.flush();
    await controller.sync("n1");
    expect(cluster.takeActions()).toEqual([]);
  });

  it("judges a node without a lease from its creation, and adds Ready when the agent never posted it", async () => {
    const { cluster, controller } = setup();
    cluster.seed(nodesResource, {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "n1", creationTimestamp: rfc3339(t0) },
    });
    cluster.clock.advance(s(40));
    await controller.sync("n1");
    expect(cluster.takeActions()).toEqual([]);
    cluster.clock.advance(1);
    await controller.sync("n1");
    expect(storedNode(cluster, "n1").status?.conditions?.[0]).toMatchObject({
      type: "Ready",
      status: "Unknown",
      reason: "NodeStatusNeverUpdated",
    });
  });

  it("removes the unreachable taints once the lease is fresh and the agent reports Ready, keeping other taints", async () => {
    const { cluster, controller } = setup();
    const custom: Taint = { key: "dedicated", value: "db", effect: "NoSchedule" };
    cluster.seed(nodesResource, node("n1", "True", [...unreachable(t0), custom]));
    cluster.seed(leasesResource, lease("n1", t0));
    await controller.sync("n1");
    const actions = cluster.takeActions();
    expect(actions.map(brief)).toEqual(["patch nodes n1"]);
    expect(actions[0]!.body).toEqual({
      metadata: { resourceVersion: expect.any(String) },
      spec: { taints: [custom] },
    });
  });

  it("taints a cordoned node unschedulable:NoSchedule and removes the taint when it is uncordoned", async () => {
    const { cluster, controller } = setup();
    const custom: Taint = { key: "dedicated", value: "db", effect: "NoSchedule" };
    const cordonedNode = node("n1", "True", [custom]);
    cordonedNode.spec = { ...cordonedNode.spec, unschedulable: true };
    cluster.seed(nodesResource, cordonedNode);
    cluster.seed(leasesResource, liveLease("n1"));
    await controller.sync("n1");
    const cordoned = {
      key: "node.kubernetes.io/unschedulable",
      effect: "NoSchedule",
      timeAdded: rfc3339(t0),
    };
    expect(storedNode(cluster, "n1").spec?.taints).toEqual([custom, cordoned]);
    cluster.flush();
    cluster.takeActions();
    await controller.sync("n1");
    expect(cluster.takeActions()).toEqual([]);

    await cluster.client.patch(nodesResource, "", "n1", { spec: { unschedulable: false } });
    cluster.flush();
    await controller.sync("n1");
    expect(storedNode(cluster, "n1").spec?.taints).toEqual([custom]);
  });

  it("keeps the unreachable taint while the lease is fresh but Ready is still Unknown, and evicts gracefully then", async () => {
    const { cluster, controller, deletes } = setup({ defaultTolerationSeconds: 0 });
    cluster.seed(nodesResource, node("n1", "Unknown", unreachable(t0)));
    cluster.seed(leasesResource, lease("n1", t0));
    cluster.seed(podsResource, podOn("web-1", "n1"));
    await controller.sync("n1");
    expect(cluster.takeActions().map(brief)).toEqual(["delete pods web-1"]);
    expect(deletes).toEqual([{ name: "web-1", opts: { uid: "uid-web-1" } }]);
  });

  it("taints a NotReady node not-ready, and swaps to unreachable when it also goes silent", async () => {
    const { cluster, controller } = setup();
    cluster.seed(nodesResource, node("n1", "False"));
    cluster.seed(leasesResource, lease("n1", t0));
    await controller.sync("n1");
    expect(storedNode(cluster, "n1").spec?.taints?.map((t) => `${t.key}:${t.effect}`)).toEqual([
      "node.kubernetes.io/not-ready:NoSchedule",
      "node.kubernetes.io/not-ready:NoExecute",
    ]);
    cluster.flush();
    cluster.clock.advance(s(41));
    await controller.sync("n1");
    expect(storedNode(cluster, "n1").spec?.taints).toEqual(unreachable(t0 + s(41)));
  });
});

describe("node lifecycle: pods of a silent node", () => {
  const readyOn = (name: string, nodeName: string) =>
    pod(name, { node: nodeName, uid: `uid-${name}`, readySince: t0 });
  const readyOf = (cluster: FakeCluster, name: string) =>
    cluster.stored<Pod>(podsResource, `default/${name}`)?.status?.conditions?.find((c) => c.type === "Ready");

  it("marks a silent node's Ready pods not Ready at the grace period, once, and leaves a live node's alone", async () => {
    const { cluster, controller, deletes } = setup({ gracePeriodMs: s(8), defaultTolerationSeconds: 8 });
    cluster.seed(nodesResource, node("n1"), node("n2"));
    cluster.seed(leasesResource, lease("n1", t0), liveLease("n2"));
    cluster.seed(podsResource, readyOn("a", "n1"), podOn("starting", "n1"), readyOn("b", "n2"));
    cluster.clock.advance(s(9));
    await controller.sync("n1");
    await controller.sync("n2");
    expect(cluster.takeActions().map(brief)).toEqual([
      "updateStatus nodes n1",
      "updateStatus pods a",
      "patch nodes n1",
    ]);
    expect(readyOf(cluster, "a")).toEqual({
      type: "Ready",
      status: "False",
      lastTransitionTime: rfc3339(t0 + s(9)),
    });
    expect(readyOf(cluster, "b")?.status).toBe("True");
    expect(deletes).toEqual([]);
    expect(
      cluster.events.filter((e) => e.reason === "NodeNotReady").map((e) => `${e.object} ${e.type}`),
    ).toEqual(["n1 Normal", "default/a Warning"]);
    cluster.flush();
    await controller.sync("n1");
    expect(cluster.takeActions()).toEqual([]);
  });

  it("marks a pod bound to the node after it went silent, and retries a Conflict once from a fresh read", async () => {
    const { cluster, controller } = setup({ gracePeriodMs: s(8) });
    cluster.seed(nodesResource, node("n1"));
    cluster.seed(leasesResource, lease("n1", t0));
    cluster.clock.advance(s(9));
    await controller.sync("n1");
    cluster.flush();
    cluster.seed(podsResource, readyOn("late", "n1"));
    // Another writer moves the stored pod on; the cache has not seen it yet.
    await cluster.client.patch(podsResource, "default", "late", { metadata: { labels: { moved: "on" } } });
    cluster.takeActions();
    await controller.sync("n1");
    expect(cluster.takeActions().map(brief)).toEqual([
      "updateStatus pods late",
      "get pods late",
      "updateStatus pods late",
    ]);
    expect(readyOf(cluster, "late")?.status).toBe("False");
  });
});

describe("node lifecycle: NoExecute evictions", () => {
  it("force-deletes the pods of a silent node when their tolerations run out, the default after 300 s", async () => {
    const { cluster, controller, deletes } = setup();
    cluster.seed(nodesResource, node("n1"), node("n2"));
    cluster.seed(leasesResource, lease("n1", t0), liveLease("n2"));
    const short: Toleration = {
      key: "node.kubernetes.io/unreachable",
      operator: "Exists",
      effect: "NoExecute",
      tolerationSeconds: 60,
    };
    const forever: Toleration = {
      key: "node.kubernetes.io/unreachable",
      operator: "Exists",
      effect: "NoExecute",
    };
    cluster.seed(
      podsResource,
      podOn("default-tol", "n1"),
      podOn("short-tol", "n1", [short]),
      podOn("forever", "n1", [forever]),
      podOn("elsewhere", "n2"),
    );
    cluster.clock.advance(s(41));
    await controller.sync("n1");
    cluster.flush();
    expect(deletes).toEqual([]);
    expect(cluster.queue.after.at(-1)).toEqual(["n1", s(60)]);

    cluster.clock.advance(s(60));
    await controller.sync("n1");
    cluster.flush();
    expect(deletes).toEqual([{ name: "short-tol", opts: { uid: "uid-short-tol", gracePeriodSeconds: 0 } }]);
    expect(cluster.queue.after.at(-1)).toEqual(["n1", s(240)]);

    cluster.clock.advance(s(240));
    await controller.sync("n1");
    expect(deletes.map((d) => d.name)).toEqual(["short-tol", "default-tol"]);
    expect(
      cluster.events
        .filter((e) => e.reason === "TaintManagerEviction")
        .map((e) => `${e.object}: ${e.message}`),
    ).toEqual([
      "default/short-tol: Marking for deletion Pod default/short-tol",
      "default/default-tol: Marking for deletion Pod default/default-tol",
    ]);
    expect(cluster.stored(podsResource, "default/forever")).toBeDefined();
    expect(cluster.stored(podsResource, "default/elsewhere")).toBeDefined();
  });

  it("uses the configured default toleration", async () => {
    const { cluster, controller, deletes } = setup({ defaultTolerationSeconds: 5 });
    cluster.seed(nodesResource, node("n1"), node("n2"));
    cluster.seed(leasesResource, lease("n1", t0), liveLease("n2"));
    cluster.seed(podsResource, podOn("web-1", "n1"));
    cluster.clock.advance(s(41));
    await controller.sync("n1");
    expect(cluster.queue.after.at(-1)).toEqual(["n1", s(5)]);
    cluster.flush();
    cluster.clock.advance(s(5));
    await controller.sync("n1");
    expect(deletes.map((d) => d.name)).toEqual(["web-1"]);
  });

  it("evicts at once, gracefully, the pods of a live node that do not tolerate one of its NoExecute taints", async () => {
    const { cluster, controller, deletes } = setup();
    cluster.seed(nodesResource, node("n1", "True", [{ key: "dedicated", value: "db", effect: "NoExecute" }]));
    cluster.seed(leasesResource, lease("n1", t0));
    cluster.seed(
      podsResource,
      podOn("app", "n1"),
      podOn("db", "n1", [{ key: "dedicated", operator: "Equal", value: "db", effect: "NoExecute" }]),
    );
    await controller.sync("n1");
    expect(deletes).toEqual([{ name: "app", opts: { uid: "uid-app" } }]);
  });

  it("leaves pods already terminating on a live node to their agent, but forces them on a silent one", async () => {
    const { cluster, controller, deletes } = setup({ defaultTolerationSeconds: 0 });
    cluster.seed(
      nodesResource,
      node("live", "True", [{ key: "dedicated", effect: "NoExecute" }]),
      node("silent"),
    );
    cluster.seed(leasesResource, lease("live", t0 + s(100)), lease("silent", t0));
    cluster.seed(podsResource, podOn("a", "live", [], true), podOn("b", "silent", [], true));
    cluster.clock.advance(s(41));
    await controller.sync("live");
    await controller.sync("silent");
    expect(deletes).toEqual([{ name: "b", opts: { uid: "uid-b", gracePeriodSeconds: 0 } }]);
  });

  it("holds evictions while every node is silent, and resumes when one comes back", async () => {
    const { cluster, controller, deletes } = setup({ defaultTolerationSeconds: 0 });
    cluster.seed(nodesResource, node("n1"), node("n2"));
    cluster.seed(leasesResource, lease("n1", t0), lease("n2", t0));
    cluster.seed(podsResource, podOn("web-1", "n1"));
    cluster.clock.advance(s(41));
    await controller.sync("n1");
    expect(storedNode(cluster, "n1").spec?.taints).toEqual(unreachable(t0 + s(41)));
    expect(deletes).toEqual([]);
    expect(cluster.queue.after.at(-1)).toEqual(["n1", s(40)]);

    cluster.flush();
    cluster.mutate<Lease>(leasesResource, "kube-node-lease/n2", (l) => {
      l.spec!.renewTime = new Date(cluster.clock.now()).toISOString();
    });
    cluster.flush();
    await controller.sync("n1");
    expect(deletes).toEqual([{ name: "web-1", opts: { uid: "uid-web-1", gracePeriodSeconds: 0 } }]);
  });

  it("forces a pod that asks for at most one copy only grace + eviction after the last renewal, whatever its tolerations", async () => {
    // kctl's defaults: G = 8 s, E = 8 s; the agent fences at 10 s.
    const { cluster, controller, deletes } = setup({ defaultTolerationSeconds: 8, gracePeriodMs: s(8) });
    cluster.seed(nodesResource, node("n1"), node("n2"));
    cluster.seed(leasesResource, lease("n1", t0), liveLease("n2"));
    const impatient: Toleration[] = [
      {
        key: "node.kubernetes.io/unreachable",
        operator: "Exists",
        effect: "NoExecute",
        tolerationSeconds: 0,
      },
    ];
    const single = podOn("single", "n1", impatient);
    single.metadata.annotations = { [atMostOneAnnotation]: "true" };
    const member = podOn("db-0", "n1", impatient);
    member.metadata.ownerReferences = [
      { apiVersion: "apps/v1", kind: "StatefulSet", name: "db", uid: "uid-db", controller: true },
    ];
    cluster.seed(podsResource, podOn("plain", "n1", impatient), single, member);

    cluster.clock.advance(s(9));
    await controller.sync("n1");
    cluster.flush();
    expect(deletes.map((d) => d.name)).toEqual(["plain"]);
    expect(cluster.queue.after.at(-1)).toEqual(["n1", s(7)]);

    cluster.clock.advance(s(7) - 1);
    await controller.sync("n1");
    expect(deletes.map((d) => d.name)).toEqual(["plain"]);

    cluster.clock.advance(1);
    await controller.sync("n1");
    cluster.flush();
    expect(deletes).toEqual([
      { name: "plain", opts: { uid: "uid-plain", gracePeriodSeconds: 0 } },
      { name: "single", opts: { uid: "uid-single", gracePeriodSeconds: 0 } },
      { name: "db-0", opts: { uid: "uid-db-0", gracePeriodSeconds: 0 } },
    ]);
  });

  it("reads the lease afresh before forcing an at-most-one pod: a renewal the cache has not seen holds it", async () => {
    const { cluster, controller, deletes } = setup({ defaultTolerationSeconds: 8, gracePeriodMs: s(8) });
    cluster.seed(nodesResource, node("n1"), node("n2"));
    cluster.seed(leasesResource, lease("n1", t0), liveLease("n2"));
    const single = podOn("single", "n1", [
      {
        key: "node.kubernetes.io/unreachable",
        operator: "Exists",
        effect: "NoExecute",
        tolerationSeconds: 0,
      },
    ]);
    single.metadata.annotations = { [atMostOneAnnotation]: "true" };
    cluster.seed(podsResource, single);
    cluster.clock.advance(s(16));
    // The agent got a renewal through 3 s ago; the lease informer has not delivered it yet.
    cluster.mutate<Lease>(leasesResource, "kube-node-lease/n1", (l) => {
      l.spec!.renewTime = new Date(t0 + s(13)).toISOString();
    });
    await controller.sync("n1");
    expect(deletes).toEqual([]);
    expect(cluster.queue.after.at(-1)).toEqual(["n1", s(13)]);
  });

  it("treats NotFound and uid Conflicts on eviction as done", async () => {
    const { cluster, controller } = setup({ defaultTolerationSeconds: 0 });
    cluster.seed(nodesResource, node("n1", "Unknown", unreachable(t0)));
    cluster.seed(leasesResource, lease("n1", t0));
    cluster.seed(podsResource, podOn("web-1", "n1"));
    cluster.failNext("delete", podsResource, new ApiError("Conflict", "uid precondition"));
    await controller.sync("n1");
    expect(cluster.events).toEqual([]);
  });
});

describe("node lifecycle: event handlers", () => {
  it("enqueues nodes for their node's lease renewals and for pods bound or changed on them", () => {
    const { cluster } = setup();
    cluster.autoFlush = true;
    cluster.seed(nodesResource, node("n1"));
    void cluster.client.create(leasesResource, "kube-node-lease", lease("n1", t0));
    void cluster.client.create(leasesResource, "default", lease("other", t0, "default"));
    void cluster.client.create(podsResource, "default", pod("unbound"));
    cluster.mutate<Pod>(podsResource, "default/unbound", (p) => {
      p.spec!.nodeName = "n1";
    });
    cluster.mutate<Pod>(podsResource, "default/unbound", (p) => {
      p.metadata.labels = { changed: "yes" };
    });
    expect(cluster.queue.added).toEqual(["n1", "n1"]);
  });
});
