import { describe, expect, it } from "vitest";
import { objectKey } from "../../../foundation/api/object.js";
import { rfc3339 } from "../../../foundation/util/time.js";
import { controllerRevisionHashLabel } from "../../../foundation/workloads/history/index.js";
import type {
  ControllerRevision,
  DaemonSet,
  DaemonSetSpec,
  Node,
  Pod,
  Taint,
} from "../../../proto/gen/api.js";
import { type Action, FakeCluster } from "../testing/fake-cluster.js";
import { t0, template, testNamespace } from "../testing/fixtures.js";
import {
  controllerRevisionsResource,
  DaemonSetController,
  daemonSetsResource,
  nodesResource,
  podsResource,
} from "./controller.js";
import { targetNodeName } from "./daemon-pod.js";

function node(name: string, labels: Record<string, string> = {}, taints: Taint[] = []): Node {
  const n: Node = { apiVersion: "v1", kind: "Node", metadata: { name, labels } };
  if (taints.length > 0) n.spec = { taints };
  return n;
}

function daemonSet(spec: Partial<DaemonSetSpec> = {}, image = "fluentd:1"): DaemonSet {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: {
      name: "fluentd",
      namespace: testNamespace,
      uid: "ds-1",
      generation: 1,
      creationTimestamp: rfc3339(t0),
    },
    spec: {
      selector: { matchLabels: { app: "fluentd" } },
      template: template({ app: "fluentd" }, image),
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      revisionHistoryLimit: 10,
      ...spec,
    },
  };
}

function setup(...nodes: Node[]) {
  const cluster = new FakeCluster();
  const dsc = new DaemonSetController({
    daemonSets: cluster.lister<DaemonSet>(daemonSetsResource),
    pods: cluster.lister<Pod>(podsResource),
    nodes: cluster.lister<Node>(nodesResource),
    revisions: cluster.lister<ControllerRevision>(controllerRevisionsResource),
    client: cluster.client,
    recorder: cluster.recorder,
    clock: cluster.clock,
    queue: cluster.workQueue,
  });
  cluster.addHandler(daemonSetsResource, dsc.daemonSetHandler);
  cluster.addHandler(podsResource, dsc.podHandler);
  cluster.addHandler(nodesResource, dsc.nodeHandler);
  cluster.addHandler(controllerRevisionsResource, dsc.revisionHandler);
  cluster.seed(nodesResource, ...nodes);
  const key = "default/fluentd";
  /** Syncs, then lets the informers catch up. */
  const step = async () => {
    await dsc.sync(key);
    cluster.flush();
  };
  /** What the scheduler and node agents do: bind each pending daemon pod to its node and make it Ready. */
  const runPods = () => {
    for (const p of cluster.storedList<Pod>(podsResource)) {
      if (p.spec?.nodeName || p.status?.phase !== "Pending") continue;
      cluster.mutate<Pod>(podsResource, objectKey(p), (q) => {
        q.spec!.nodeName = targetNodeName(q)!;
        q.status = {
          phase: "Running",
          conditions: [{ type: "Ready", status: "True", lastTransitionTime: rfc3339(cluster.clock.now()) }],
        };
      });
    }
    cluster.flush();
  };
  const pods = () => cluster.storedList<Pod>(podsResource);
  const podNodes = () =>
    pods()
      .map((p) => targetNodeName(p))
      .sort();
  const status = () => cluster.stored<DaemonSet>(daemonSetsResource, key)!.status;
  const revisions = () =>
    cluster
      .storedList<ControllerRevision>(controllerRevisionsResource)
      .map((r) => r.revision)
      .sort();
  return { cluster, dsc, key, step, runPods, pods, podNodes, status, revisions };
}

const brief = (a: Action) => `${a.verb} ${a.resource} ${a.name}`;

describe("DaemonSet controller: placement", () => {
  it("creates one pod per node, bound by affinity to the node's name, with the daemon tolerations, then reports status", async () => {
    const { cluster, dsc, key, pods } = setup(node("n1"), node("n2"));
    cluster.seed(daemonSetsResource, daemonSet());
    await dsc.sync(key);
    const actions = cluster.takeActions();
    expect(actions.map(brief)).toEqual([
      expect.stringMatching(/^create controllerrevisions fluentd-[a-z0-9]+$/),
      "create pods fluentd-bbbbb",
      "create pods fluentd-cbbbb",
      "updateStatus daemonsets fluentd",
    ]);
    const revision = actions[0]!.body as ControllerRevision;
    expect(revision.revision).toBe(1);
    const hash = revision.metadata.labels?.[controllerRevisionHashLabel];
    const created = pods().find((p) => p.metadata.name === "fluentd-bbbbb")!;
    expect(created.metadata.labels).toEqual({ app: "fluentd", [controllerRevisionHashLabel]: hash });
    expect(created.metadata.ownerReferences?.[0]).toMatchObject({
      kind: "DaemonSet",
      name: "fluentd",
      controller: true,
    });
    expect(created.spec?.nodeName).toBeUndefined();
    expect(created.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toEqual({
      nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: ["n1"] }] }],
    });
    expect(created.spec?.tolerations?.map((t) => `${t.key}:${t.effect}`)).toEqual([
      "node.kubernetes.io/not-ready:NoExecute",
      "node.kubernetes.io/unreachable:NoExecute",
      "node.kubernetes.io/disk-pressure:NoSchedule",
      "node.kubernetes.io/memory-pressure:NoSchedule",
      "node.kubernetes.io/pid-pressure:NoSchedule",
      "node.kubernetes.io/unschedulable:NoSchedule",
    ]);
    // Status shows the cache as it was: no pods seen yet.
    expect((actions[3]!.body as DaemonSet).status).toEqual({
      currentNumberScheduled: 0,
      numberMisscheduled: 0,
      desiredNumberScheduled: 2,
      numberReady: 0,
      observedGeneration: 1,
      updatedNumberScheduled: 0,
      numberAvailable: 0,
      numberUnavailable: 2,
    });
    expect(cluster.events.map((e) => e.reason)).toEqual(["SuccessfulCreate", "SuccessfulCreate"]);
  });

  it("expectations keep a second sync from creating duplicates before the informer sees the first pods", async () => {
    const { cluster, dsc, key, step, pods } = setup(node("n1"), node("n2"));
    cluster.seed(daemonSetsResource, daemonSet());
    await dsc.sync(key);
    cluster.takeActions();
    expect(dsc.expectations.satisfied(key)).toBe(false);
    await dsc.sync(key);
    expect(cluster.takeActions().filter((a) => a.verb === "create" && a.resource === "pods")).toEqual([]);
    cluster.flush();
    await step();
    expect(pods()).toHaveLength(2);
  });

  const nodesTable: { name: string; spec?: Partial<DaemonSetSpec>; node: Node; runs: boolean }[] = [
    {
      name: "a node matching the nodeSelector",
      spec: {
        template: {
          ...template({ app: "fluentd" }),
          spec: { containers: [{ name: "f", image: "f" }], nodeSelector: { disk: "ssd" } },
        },
      },
      node: node("n1", { disk: "ssd" }),
      runs: true,
    },
    {
      name: "a node missing the nodeSelector label",
      spec: {
        template: {
          ...template({ app: "fluentd" }),
          spec: { containers: [{ name: "f", image: "f" }], nodeSelector: { disk: "ssd" } },
        },
      },
      node: node("n1", { disk: "hdd" }),
      runs: false,
    },
    {
      name: "a node outside the required node affinity",
      spec: {
        template: {
          ...template({ app: "fluentd" }),
          spec: {
            containers: [{ name: "f", image: "f" }],
            affinity: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] }],
                },
              },
            },
          },
        },
      },
      node: node("n1", { zone: "b" }),
      runs: false,
    },
    {
      name: "a node with an untolerated NoSchedule taint",
      node: node("n1", {}, [{ key: "gpu", value: "yes", effect: "NoSchedule" }]),
      runs: false,
    },
    {
      name: "a node with only a PreferNoSchedule taint",
      node: node("n1", {}, [{ key: "gpu", effect: "PreferNoSchedule" }]),
      runs: true,
    },
    {
      name: "a cordoned node (the unschedulable taint is a daemon toleration)",
      node: node("n1", {}, [{ key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" }]),
      runs: true,
    },
    {
      name: "a not-ready node (tolerated NoExecute)",
      node: node("n1", {}, [{ key: "node.kubernetes.io/not-ready", effect: "NoExecute" }]),
      runs: true,
    },
    {
      name: "a tainted node the template tolerates",
      spec: {
        template: {
          ...template({ app: "fluentd" }),
          spec: {
            containers: [{ name: "f", image: "f" }],
            tolerations: [{ key: "gpu", operator: "Exists" }],
          },
        },
      },
      node: node("n1", {}, [{ key: "gpu", value: "yes", effect: "NoSchedule" }]),
      runs: true,
    },
  ];

  it.each(nodesTable)("on $name: runs=$runs", async ({ spec, node: n, runs }) => {
    const { cluster, step, pods, status } = setup(n);
    cluster.seed(daemonSetsResource, daemonSet(spec));
    await step();
    expect(pods()).toHaveLength(runs ? 1 : 0);
    expect(status()?.desiredNumberScheduled).toBe(runs ? 1 : 0);
  });

  it("a node added later gets its pod", async () => {
    const { cluster, key, step, runPods, podNodes, status } = setup(node("n1"));
    cluster.seed(daemonSetsResource, daemonSet());
    await step();
    runPods();
    cluster.queue.added.length = 0;
    await cluster.client.create(nodesResource, "", node("n2"));
    cluster.flush();
    expect(cluster.queue.added).toContain(key);
    await step();
    runPods();
    await step();
    expect(podNodes()).toEqual(["n1", "n2"]);
    expect(status()).toMatchObject({
      desiredNumberScheduled: 2,
      currentNumberScheduled: 2,
      numberReady: 2,
      numberAvailable: 2,
    });
  });

  it("a NoSchedule taint added later leaves the pod (misscheduled); a NoExecute one or a label change removes it", async () => {
    const { cluster, step, runPods, pods, status } = setup(
      node("n1", { disk: "ssd" }),
      node("n2", { disk: "ssd" }),
    );
    const ds = daemonSet({
      template: {
        ...template({ app: "fluentd" }),
        spec: { containers: [{ name: "f", image: "f" }], nodeSelector: { disk: "ssd" } },
      },
    });
    cluster.seed(daemonSetsResource, ds);
    await step();
    runPods();
    await step();
    cluster.mutate<Node>(nodesResource, "n1", (n) => {
      n.spec = { taints: [{ key: "maintenance", effect: "NoSchedule" }] };
    });
    cluster.flush();
    await step();
    expect(pods()).toHaveLength(2);
    expect(status()).toMatchObject({ desiredNumberScheduled: 1, numberMisscheduled: 1 });
    cluster.mutate<Node>(nodesResource, "n1", (n) => {
      n.spec = { taints: [{ key: "maintenance", effect: "NoExecute" }] };
    });
    cluster.mutate<Node>(nodesResource, "n2", (n) => {
      n.metadata.labels = { disk: "hdd" };
    });
    cluster.flush();
    cluster.takeActions();
    await step();
    expect(
      cluster
        .takeActions()
        .filter((a) => a.verb === "delete")
        .map((a) => a.resource),
    ).toEqual(["pods", "pods"]);
    expect(pods()).toEqual([]);
    expect(cluster.events.filter((e) => e.reason === "SuccessfulDelete")).toHaveLength(2);
  });

  it("deletes the pod of a node that is gone", async () => {
    const { cluster, step, runPods, pods } = setup(node("n1"), node("n2"));
    cluster.seed(daemonSetsResource, daemonSet());
    await step();
    runPods();
    await cluster.client.delete(nodesResource, "", "n2");
    cluster.flush();
    await step();
    expect(pods().map((p) => p.spec?.nodeName)).toEqual(["n1"]);
  });

  it("replaces a failed pod, and waits out a growing backoff when it fails again", async () => {
    const { cluster, key, step, runPods, pods } = setup(node("n1"));
    cluster.seed(daemonSetsResource, daemonSet());
    await step();
    runPods();
    const fail = () => {
      const p = pods()[0]!;
      cluster.mutate<Pod>(podsResource, objectKey(p), (q) => {
        q.status = { phase: "Failed" };
      });
      cluster.flush();
      return p.metadata.name;
    };
    const first = fail();
    await step();
    expect(cluster.events.filter((e) => e.reason === "FailedDaemonPod").map((e) => e.message)).toEqual([
      `Found failed daemon pod default/${first} on node n1, will try to kill it`,
    ]);
    await step();
    runPods();
    expect(pods()).toHaveLength(1);
    expect(pods()[0]!.metadata.name).not.toBe(first);
    // Fails again within the 1 s backoff: kept, and the key requeued for when the backoff ends.
    fail();
    cluster.queue.after.length = 0;
    await step();
    expect(pods()[0]!.status?.phase).toBe("Failed");
    expect(cluster.queue.after).toEqual([[key, 1000]]);
    cluster.clock.advance(1000);
    await step();
    expect(pods()).toEqual([]);
  });

  it("adopts a matching orphan pod instead of creating another (and then rolls it, lacking the revision hash)", async () => {
    const { cluster, dsc, key } = setup(node("n1"));
    cluster.seed(daemonSetsResource, daemonSet());
    const orphan: Pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "orphan", namespace: testNamespace, labels: { app: "fluentd" } },
      spec: { nodeName: "n1", containers: [{ name: "f", image: "f" }] },
      status: { phase: "Running" },
    };
    cluster.seed(podsResource, orphan);
    await dsc.sync(key);
    const podActions = cluster
      .takeActions()
      .filter((a) => a.resource === "pods")
      .map(brief);
    expect(podActions).toEqual(["patch pods orphan", "delete pods orphan"]);
  });
});

/** Runs the controller, scheduler and agents until nothing changes, recording the worst moment. */
async function converge(s: ReturnType<typeof setup>, nodes: number) {
  let mostUnavailable = 0;
  let mostPods = 0;
  for (let i = 0; i < 60; i++) {
    await s.step();
    s.runPods();
    const ready = new Set(
      s
        .pods()
        .filter((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
        .map((p) => p.spec?.nodeName),
    );
    mostUnavailable = Math.max(mostUnavailable, nodes - ready.size);
    mostPods = Math.max(mostPods, s.pods().length);
  }
  return { mostUnavailable, mostPods };
}

describe("DaemonSet controller: updates and history", () => {
  const strategies = [
    { name: "maxUnavailable 1", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 }, unavailable: 1, extra: 0 },
    {
      name: "maxUnavailable 50% of 4 nodes",
      rollingUpdate: { maxUnavailable: "50%", maxSurge: 0 },
      unavailable: 2,
      extra: 0,
    },
    { name: "maxSurge 1", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 }, unavailable: 0, extra: 1 },
  ];

  it.each(strategies)(
    "a rolling update with $name replaces every pod within its budget",
    async ({ rollingUpdate, unavailable, extra }) => {
      const s = setup(node("n1"), node("n2"), node("n3"), node("n4"));
      s.cluster.seed(
        daemonSetsResource,
        daemonSet({ updateStrategy: { type: "RollingUpdate", rollingUpdate } }),
      );
      await converge(s, 4);
      expect(s.status()).toMatchObject({ updatedNumberScheduled: 4, numberAvailable: 4 });
      s.cluster.mutate<DaemonSet>(daemonSetsResource, s.key, (ds) => {
        ds.spec!.template!.spec!.containers![0]!.image = "fluentd:2";
      });
      s.cluster.flush();
      const worst = await converge(s, 4);
      expect(worst.mostUnavailable).toBe(unavailable);
      expect(worst.mostPods).toBe(4 + extra);
      expect(s.pods().map((p) => p.spec?.containers?.[0]?.image)).toEqual(Array(4).fill("fluentd:2"));
      expect(s.podNodes()).toEqual(["n1", "n2", "n3", "n4"]);
      expect(s.status()).toMatchObject({
        observedGeneration: 2,
        desiredNumberScheduled: 4,
        updatedNumberScheduled: 4,
        numberAvailable: 4,
        numberUnavailable: 0,
      });
      expect(s.revisions()).toEqual([1, 2]);
    },
  );

  it("OnDelete replaces a pod with the new template only once someone deletes it", async () => {
    const s = setup(node("n1"), node("n2"));
    s.cluster.seed(daemonSetsResource, daemonSet({ updateStrategy: { type: "OnDelete" } }));
    await converge(s, 2);
    s.cluster.mutate<DaemonSet>(daemonSetsResource, s.key, (ds) => {
      ds.spec!.template!.spec!.containers![0]!.image = "fluentd:2";
    });
    s.cluster.flush();
    await converge(s, 2);
    expect(s.pods().map((p) => p.spec?.containers?.[0]?.image)).toEqual(["fluentd:1", "fluentd:1"]);
    expect(s.status()?.updatedNumberScheduled).toBe(0);
    const victim = s.pods().find((p) => p.spec?.nodeName === "n1")!;
    await s.cluster.client.delete(podsResource, testNamespace, victim.metadata.name!);
    s.cluster.flush();
    await converge(s, 2);
    expect(
      s
        .pods()
        .map((p) => `${p.spec?.nodeName} ${p.spec?.containers?.[0]?.image}`)
        .sort(),
    ).toEqual(["n1 fluentd:2", "n2 fluentd:1"]);
  });

  it("bringing an old template back renumbers its revision instead of copying it, and history is trimmed to the limit", async () => {
    const s = setup(node("n1"));
    s.cluster.seed(daemonSetsResource, daemonSet({ revisionHistoryLimit: 1 }));
    await converge(s, 1);
    const setImage = async (image: string) => {
      s.cluster.mutate<DaemonSet>(daemonSetsResource, s.key, (ds) => {
        ds.spec!.template!.spec!.containers![0]!.image = image;
      });
      s.cluster.flush();
      await converge(s, 1);
    };
    await setImage("fluentd:2");
    expect(s.revisions()).toEqual([1, 2]);
    await setImage("fluentd:1");
    // Revision 1 came back as 3; revision 2 is the one old revision the limit keeps.
    expect(s.revisions()).toEqual([2, 3]);
    await setImage("fluentd:3");
    expect(s.revisions()).toEqual([3, 4]);
    expect(s.pods()[0]!.spec?.containers?.[0]?.image).toBe("fluentd:3");
  });

  it("does nothing while the DaemonSet is being deleted, and nothing once it is gone", async () => {
    const s = setup(node("n1"));
    const ds = daemonSet();
    ds.metadata.deletionTimestamp = rfc3339(t0);
    s.cluster.seed(daemonSetsResource, ds);
    await s.dsc.sync(s.key);
    await s.dsc.sync("default/gone");
    expect(s.cluster.takeActions()).toEqual([]);
  });
});
