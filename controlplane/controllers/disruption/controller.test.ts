import { describe, expect, it } from "vitest";
import { resourceForKind } from "../../../foundation/api/resources.js";
import { rfc3339 } from "../../../foundation/util/time.js";
import type {
  DaemonSet,
  Deployment,
  Pod,
  PodDisruptionBudget,
  PodDisruptionBudgetSpec,
  ReplicaSet,
  StatefulSet,
} from "../../../proto/gen/api.js";
import { FakeCluster } from "../testing/fake-cluster.js";
import { deployment, pod, replicaSet, t0, testNamespace } from "../testing/fixtures.js";
import { DisruptionController, podDisruptionBudgetsResource } from "./controller.js";

const podsResource = resourceForKind("v1", "Pod")!;
const rsResource = resourceForKind("apps/v1", "ReplicaSet")!;
const deploymentsResource = resourceForKind("apps/v1", "Deployment")!;
const daemonSetsResource = resourceForKind("apps/v1", "DaemonSet")!;
const statefulSetsResource = resourceForKind("apps/v1", "StatefulSet")!;

function budget(spec: PodDisruptionBudgetSpec, status?: PodDisruptionBudget["status"]): PodDisruptionBudget {
  const pdb: PodDisruptionBudget = {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: "web", namespace: testNamespace, generation: 1 },
    spec: { selector: { matchLabels: { app: "web" } }, ...spec },
  };
  if (status) pdb.status = status;
  return pdb;
}

function setup() {
  const cluster = new FakeCluster();
  const dc = new DisruptionController({
    budgets: cluster.lister<PodDisruptionBudget>(podDisruptionBudgetsResource),
    pods: cluster.lister<Pod>(podsResource),
    replicaSets: cluster.lister<ReplicaSet>(rsResource),
    deployments: cluster.lister<Deployment>(deploymentsResource),
    daemonSets: cluster.lister<DaemonSet>(daemonSetsResource),
    statefulSets: cluster.lister<StatefulSet>(statefulSetsResource),
    client: cluster.client,
    recorder: cluster.recorder,
    clock: cluster.clock,
    queue: cluster.workQueue,
  });
  cluster.addHandler(podDisruptionBudgetsResource, dc.budgetHandler);
  cluster.addHandler(podsResource, dc.podHandler);
  const status = () =>
    cluster.stored<PodDisruptionBudget>(podDisruptionBudgetsResource, "default/web")?.status;
  return { cluster, dc, status };
}

/** A Deployment of `replicas` with its ReplicaSet and `ready` Ready pods (of `total`). */
function seedDeployment(cluster: FakeCluster, replicas: number, ready: number, total = replicas) {
  const d = deployment("web", { replicas, uid: "d-1" });
  const rs = replicaSet("web-1", { replicas, uid: "rs-1", owner: d, selector: { app: "web" } });
  cluster.seed(deploymentsResource, d);
  cluster.seed(rsResource, rs);
  for (let i = 0; i < total; i++) {
    cluster.seed(
      podsResource,
      pod(`web-${i}`, {
        labels: { app: "web" },
        owner: rs,
        node: "n1",
        ...(i < ready ? { readySince: t0 } : {}),
      }),
    );
  }
}

describe("disruption controller", () => {
  const cases: {
    name: string;
    spec: PodDisruptionBudgetSpec;
    replicas: number;
    ready: number;
    want: {
      currentHealthy: number;
      desiredHealthy: number;
      expectedPods: number;
      disruptionsAllowed: number;
    };
  }[] = [
    {
      name: "minAvailable 2 of 2 Ready",
      spec: { minAvailable: 2 },
      replicas: 2,
      ready: 2,
      want: { currentHealthy: 2, desiredHealthy: 2, expectedPods: 2, disruptionsAllowed: 0 },
    },
    {
      name: "minAvailable 1 of 2 Ready",
      spec: { minAvailable: 1 },
      replicas: 2,
      ready: 2,
      want: { currentHealthy: 2, desiredHealthy: 1, expectedPods: 2, disruptionsAllowed: 1 },
    },
    {
      name: "maxUnavailable 0",
      spec: { maxUnavailable: 0 },
      replicas: 3,
      ready: 3,
      want: { currentHealthy: 3, desiredHealthy: 3, expectedPods: 3, disruptionsAllowed: 0 },
    },
    // replicas=10, maxUnavailable=25% → 3 (rounded up): 7 must stay healthy; 9 Ready → 2 may go.
    {
      name: "maxUnavailable 25% of a 10-replica Deployment, 9 Ready",
      spec: { maxUnavailable: "25%" },
      replicas: 10,
      ready: 9,
      want: { currentHealthy: 9, desiredHealthy: 7, expectedPods: 10, disruptionsAllowed: 2 },
    },
    // minAvailable=50% of 3 → 2 (rounded up).
    {
      name: "minAvailable 50% of 3",
      spec: { minAvailable: "50%" },
      replicas: 3,
      ready: 3,
      want: { currentHealthy: 3, desiredHealthy: 2, expectedPods: 3, disruptionsAllowed: 1 },
    },
    {
      name: "minAvailable 2 with one pod not Ready",
      spec: { minAvailable: 2 },
      replicas: 2,
      ready: 1,
      want: { currentHealthy: 1, desiredHealthy: 2, expectedPods: 2, disruptionsAllowed: 0 },
    },
  ];

  it.each(cases)("$name", async ({ spec, replicas, ready, want }) => {
    const { cluster, dc, status } = setup();
    seedDeployment(cluster, replicas, ready);
    cluster.seed(podDisruptionBudgetsResource, budget(spec));
    await dc.sync("default/web");
    expect(status()).toMatchObject({ ...want, observedGeneration: 1 });
    expect(status()?.conditions?.[0]).toMatchObject({
      type: "DisruptionAllowed",
      status: want.disruptionsAllowed > 0 ? "True" : "False",
      reason: want.disruptionsAllowed > 0 ? "SufficientPods" : "InsufficientPods",
    });
  });

  it("a pod just evicted does not count as healthy until its 2-minute window ends, then is forgotten with an event", async () => {
    const { cluster, dc, status } = setup();
    seedDeployment(cluster, 3, 3);
    cluster.seed(
      podDisruptionBudgetsResource,
      budget({ minAvailable: 1 }, { observedGeneration: 1, disruptedPods: { "web-0": rfc3339(t0) } }),
    );
    await dc.sync("default/web");
    expect(status()).toMatchObject({
      currentHealthy: 2,
      disruptionsAllowed: 1,
      disruptedPods: { "web-0": rfc3339(t0) },
    });
    expect(cluster.queue.after).toEqual([["default/web", 120_000]]);
    cluster.flush();
    cluster.clock.advance(120_000);
    await dc.sync("default/web");
    expect(status()).toMatchObject({ currentHealthy: 3, disruptionsAllowed: 2 });
    expect(status()?.disruptedPods).toBeUndefined();
    expect(cluster.events.map((e) => e.reason)).toContain("NotDeleted");
  });

  it("fails safe, allowing no disruption, when a pod's controller has no known scale", async () => {
    const { cluster, dc, status } = setup();
    cluster.seed(podsResource, {
      ...pod("job-pod", { labels: { app: "web" }, node: "n1", readySince: t0 }),
      metadata: {
        name: "job-pod",
        namespace: testNamespace,
        labels: { app: "web" },
        ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: "j", uid: "j-1", controller: true }],
      },
    });
    cluster.seed(podDisruptionBudgetsResource, budget({ maxUnavailable: 1 }, { disruptionsAllowed: 1 }));
    await dc.sync("default/web");
    expect(status()).toMatchObject({ disruptionsAllowed: 0 });
    expect(status()?.conditions?.[0]).toMatchObject({
      status: "False",
      reason: "SyncFailed",
      message: 'found no controllers for pod "job-pod"',
    });
    expect(cluster.events.map((e) => e.reason)).toEqual(["CalculateExpectedPodCountFailed"]);
  });

  it("counts a DaemonSet's desired nodes as its scale", async () => {
    const { cluster, dc, status } = setup();
    const ds: DaemonSet = {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "agent", namespace: testNamespace, uid: "ds-1" },
      status: { desiredNumberScheduled: 3 },
    };
    cluster.seed(daemonSetsResource, ds);
    for (const i of [0, 1])
      cluster.seed(
        podsResource,
        pod(`agent-${i}`, { labels: { app: "web" }, owner: ds, node: `n${i}`, readySince: t0 }),
      );
    cluster.seed(podDisruptionBudgetsResource, budget({ maxUnavailable: 1 }));
    await dc.sync("default/web");
    expect(status()).toMatchObject({
      expectedPods: 3,
      desiredHealthy: 2,
      currentHealthy: 2,
      disruptionsAllowed: 0,
    });
  });

  it("counts a StatefulSet's replicas as its scale", async () => {
    const { cluster, dc, status } = setup();
    const sts: StatefulSet = {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "db", namespace: testNamespace, uid: "sts-1" },
      spec: { replicas: 3, serviceName: "db" },
    };
    cluster.seed(statefulSetsResource, sts);
    for (const i of [0, 1, 2])
      cluster.seed(podsResource, pod(`db-${i}`, { labels: { app: "web" }, owner: sts, readySince: t0 }));
    cluster.seed(podDisruptionBudgetsResource, budget({ maxUnavailable: 1 }));
    await dc.sync("default/web");
    expect(status()).toMatchObject({
      expectedPods: 3,
      desiredHealthy: 2,
      currentHealthy: 3,
      disruptionsAllowed: 1,
    });
  });

  it("a pod change wakes the budgets selecting it", () => {
    const { cluster } = setup();
    cluster.seed(podDisruptionBudgetsResource, budget({ minAvailable: 1 }));
    cluster.queue.added.length = 0;
    void cluster.client.create(podsResource, testNamespace, pod("x", { labels: { app: "web" } }));
    void cluster.client.create(podsResource, testNamespace, pod("y", { labels: { app: "db" } }));
    cluster.flush();
    expect(cluster.queue.added).toEqual(["default/web"]);
  });

  it("with no matching pods: nothing allowed, a NoPods event", async () => {
    const { cluster, dc, status } = setup();
    cluster.seed(podDisruptionBudgetsResource, budget({ minAvailable: 1 }));
    await dc.sync("default/web");
    expect(status()).toMatchObject({ expectedPods: 0, disruptionsAllowed: 0 });
    expect(cluster.events.map((e) => e.reason)).toEqual(["NoPods"]);
  });
});
