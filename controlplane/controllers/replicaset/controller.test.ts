import { describe, expect, it } from "vitest";
import { ApiError } from "../../../foundation/api/errors.js";
import type { Pod, ReplicaSet } from "../../../proto/gen/api.js";
import { type Action, FakeCluster, type FakeClusterOptions } from "../testing/fake-cluster.js";
import { pod, replicaSet, t0 } from "../testing/fixtures.js";
import { podsResource, ReplicaSetController, replicaSetsResource } from "./controller.js";

function setup(opts: FakeClusterOptions = {}) {
  const cluster = new FakeCluster(opts);
  const rsc = new ReplicaSetController({
    pods: cluster.lister<Pod>(podsResource),
    replicaSets: cluster.lister<ReplicaSet>(replicaSetsResource),
    client: cluster.client,
    recorder: cluster.recorder,
    clock: cluster.clock,
    queue: cluster.workQueue,
  });
  cluster.addHandler(podsResource, rsc.podHandler);
  cluster.addHandler(replicaSetsResource, rsc.replicaSetHandler);
  return { cluster, rsc };
}

const brief = (a: Action): string => `${a.verb} ${a.resource} ${a.name}`;
const statusOf = (a: Action | undefined) => (a?.body as ReplicaSet | undefined)?.status;

describe("ReplicaSet controller: scaling", () => {
  it("creates the missing pods from the template, owned by the ReplicaSet, then reports status", async () => {
    const { cluster, rsc } = setup();
    cluster.seed(replicaSetsResource, replicaSet("web", { replicas: 3, uid: "rs-1" }));
    await rsc.sync("default/web");
    const actions = cluster.takeActions();
    expect(actions.map(brief)).toEqual([
      "create pods web-bbbbb",
      "create pods web-cbbbb",
      "create pods web-dbbbb",
      "updateStatus replicasets web",
    ]);
    const created = actions[0]!.body as Pod;
    expect(created.metadata).toMatchObject({
      generateName: "web-",
      namespace: "default",
      labels: { app: "web" },
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: "web",
          uid: "rs-1",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    });
    expect(created.spec?.containers?.[0]?.image).toBe("nginx:1");
    // Status reports what the cache showed: the new pods are not observed yet.
    expect(statusOf(actions[3])).toEqual({
      replicas: 0,
      fullyLabeledReplicas: 0,
      readyReplicas: 0,
      availableReplicas: 0,
      observedGeneration: 1,
    });
    expect(cluster.events.map((e) => e.reason)).toEqual([
      "SuccessfulCreate",
      "SuccessfulCreate",
      "SuccessfulCreate",
    ]);
  });

  it("expectations keep a second sync from creating duplicates before the informer sees the first pods", async () => {
    const { cluster, rsc } = setup();
    cluster.seed(replicaSetsResource, replicaSet("web", { replicas: 3, uid: "rs-1" }));
    await rsc.sync("default/web");
    expect(cluster.takeActions().filter((a) => a.verb === "create")).toHaveLength(3);
    // The informer has not delivered the new pods (nor our status write) yet.
    expect(rsc.expectations.satisfied("default/web")).toBe(false);
    await rsc.sync("default/web");
    // No creates; the status write meets our own earlier write (Conflict) and retries on a fresh read.
    expect(cluster.takeActions().map(brief)).toEqual([
      "updateStatus replicasets web",
      "get replicasets web",
      "updateStatus replicasets web",
    ]);
    cluster.flush();
    expect(rsc.expectations.satisfied("default/web")).toBe(true);
    await rsc.sync("default/web");
    const after = cluster.takeActions();
    expect(after.map(brief)).toEqual(["updateStatus replicasets web"]);
    expect(statusOf(after[0])?.replicas).toBe(3);
  });

  it("a failed create stops the slow-start batch, sets ReplicaFailure and lowers expectations for a retry", async () => {
    const { cluster, rsc } = setup();
    cluster.seed(replicaSetsResource, replicaSet("web", { replicas: 5 }));
    cluster.failNext("create", podsResource, new ApiError("Forbidden", "exceeded quota: pods"));
    await expect(rsc.sync("default/web")).rejects.toThrow("exceeded quota");
    const actions = cluster.takeActions();
    expect(actions.map(brief)).toEqual(["create pods web-bbbbb", "updateStatus replicasets web"]);
    expect(statusOf(actions[1])?.conditions).toEqual([
      {
        type: "ReplicaFailure",
        status: "True",
        reason: "FailedCreate",
        message: "exceeded quota: pods",
        lastTransitionTime: "2024-01-01T00:00:00Z",
      },
    ]);
    expect(cluster.events).toContainEqual(
      expect.objectContaining({ type: "Warning", reason: "FailedCreate" }),
    );
    expect(rsc.expectations.satisfied("default/web")).toBe(true);
    cluster.flush();
    await rsc.sync("default/web");
    const retry = cluster.takeActions();
    expect(retry.filter((a) => a.verb === "create")).toHaveLength(5);
    expect(statusOf(retry.find((a) => a.verb === "updateStatus"))?.conditions).toBeUndefined();
  });

  const victims: { name: string; replicas: number; pods: Pod[]; deleted: string[] }[] = [
    {
      name: "unscheduled, then pending, then not ready, then ready for the shortest time",
      replicas: 1,
      pods: [
        pod("ready-long", { node: "n1", readySince: t0 - 600_000 }),
        pod("unscheduled", {}),
        pod("ready-short", { node: "n2", readySince: t0 - 10_000 }),
        pod("pending", { node: "n3", phase: "Pending" }),
        pod("not-ready", { node: "n4", phase: "Running" }),
      ],
      deleted: ["unscheduled", "pending", "not-ready", "ready-short"],
    },
    {
      name: "among equals: more restarts, then newer",
      replicas: 1,
      pods: [
        pod("old", { node: "n1", phase: "Running", created: t0 - 3000 }),
        pod("new", { node: "n2", phase: "Running", created: t0 - 1000 }),
        pod("crashy", { node: "n3", phase: "Running", created: t0 - 5000, restarts: 4 }),
      ],
      deleted: ["crashy", "new"],
    },
    {
      name: "a node crowded with the set's pods before a quiet one",
      replicas: 2,
      pods: [
        pod("alone", { node: "n1", readySince: t0 - 60_000, created: t0 - 1000 }),
        pod("crowded-a", { node: "n2", readySince: t0 - 60_000, created: t0 - 5000 }),
        pod("crowded-b", { node: "n2", readySince: t0 - 60_000, created: t0 - 4000 }),
      ],
      deleted: ["crowded-b"],
    },
    {
      name: "a lower pod-deletion-cost first",
      replicas: 1,
      pods: [
        pod("cheap", {
          node: "n1",
          readySince: t0 - 60_000,
          annotations: { "controller.kubernetes.io/pod-deletion-cost": "-5" },
        }),
        pod("newest", { node: "n2", readySince: t0 - 1000 }),
      ],
      deleted: ["cheap"],
    },
  ];
  it.each(victims)("scales down deleting $name", async ({ replicas, pods, deleted }) => {
    const { cluster, rsc } = setup();
    const rs = replicaSet("web", { replicas, uid: "rs-1", selector: { app: "web" } });
    cluster.seed(replicaSetsResource, rs);
    cluster.seed(
      podsResource,
      ...pods.map((p) => ({
        ...p,
        metadata: {
          ...p.metadata,
          labels: { app: "web" },
          ownerReferences: [
            { apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: "rs-1", controller: true },
          ],
        },
      })),
    );
    await rsc.sync("default/web");
    const actions = cluster.takeActions();
    expect(
      actions
        .filter((a) => a.verb === "delete")
        .map((a) => a.name)
        .sort(),
    ).toEqual([...deleted].sort());
    expect(cluster.events.filter((e) => e.reason === "SuccessfulDelete")).toHaveLength(deleted.length);
    // Deletion expectations hold further deletes until the informer shows the pods gone.
    await rsc.sync("default/web");
    expect(cluster.takeActions().filter((a) => a.verb === "delete")).toEqual([]);
    cluster.flush();
    expect(rsc.expectations.satisfied("default/web")).toBe(true);
  });

  it("pods being deleted or finished do not count and are replaced", async () => {
    const { cluster, rsc } = setup();
    const rs = replicaSet("web", { replicas: 3, uid: "rs-1" });
    cluster.seed(replicaSetsResource, rs);
    rs.metadata.uid = "rs-1";
    cluster.seed(
      podsResource,
      pod("a", { labels: { app: "web" }, owner: rs, node: "n1", readySince: t0 }),
      pod("b", { labels: { app: "web" }, owner: rs, node: "n1", deleting: true }),
      pod("c", { labels: { app: "web" }, owner: rs, node: "n1", phase: "Failed" }),
    );
    await rsc.sync("default/web");
    const actions = cluster.takeActions();
    expect(actions.map(brief)).toEqual([
      "create pods web-bbbbb",
      "create pods web-cbbbb",
      "updateStatus replicasets web",
    ]);
    expect(statusOf(actions[2])).toMatchObject({ replicas: 1, readyReplicas: 1, availableReplicas: 1 });
  });

  it("does nothing to pods while the ReplicaSet is being deleted, and nothing at all once it is gone", async () => {
    const { cluster, rsc } = setup();
    const rs = replicaSet("web", { replicas: 3, uid: "rs-1" });
    rs.metadata.deletionTimestamp = "2024-01-01T00:00:00Z";
    cluster.seed(replicaSetsResource, rs);
    await rsc.sync("default/web");
    expect(cluster.takeActions().map(brief)).toEqual(["updateStatus replicasets web"]);
    await rsc.sync("default/gone");
    expect(cluster.takeActions()).toEqual([]);
  });
});

describe("ReplicaSet controller: ownership", () => {
  it("adopts matching orphans, leaves other controllers' pods and non-matching pods alone", async () => {
    const { cluster, rsc } = setup();
    const rs = replicaSet("web", { replicas: 2, uid: "rs-1" });
    const other = replicaSet("other", { uid: "rs-2" });
    cluster.seed(replicaSetsResource, rs, other);
    cluster.seed(
      podsResource,
      pod("orphan", { labels: { app: "web" }, node: "n1", readySince: t0 }),
      pod("theirs", { labels: { app: "web" }, owner: other }),
      pod("unrelated", { labels: { app: "db" } }),
      pod("orphan-deleting", { labels: { app: "web" }, deleting: true }),
    );
    await rsc.sync("default/web");
    const actions = cluster.takeActions();
    expect(actions.map(brief)).toEqual([
      "get replicasets web",
      "patch pods orphan",
      "create pods web-bbbbb",
      "updateStatus replicasets web",
    ]);
    expect(actions[1]!.body).toEqual({
      metadata: {
        ownerReferences: [
          {
            apiVersion: "apps/v1",
            kind: "ReplicaSet",
            name: "web",
            uid: "rs-1",
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
        resourceVersion: expect.any(String),
      },
    });
    expect(statusOf(actions[3])).toMatchObject({ replicas: 1, readyReplicas: 1 });
  });

  it("does not adopt when the live ReplicaSet turns out to be a different object", async () => {
    const { cluster, rsc } = setup();
    cluster.seed(replicaSetsResource, replicaSet("web", { replicas: 1, uid: "rs-1" }));
    cluster.seed(podsResource, pod("orphan", { labels: { app: "web" } }));
    cluster.mutate<ReplicaSet>(replicaSetsResource, "default/web", (rs) => {
      rs.metadata.uid = "rs-new";
    });
    await expect(rsc.sync("default/web")).rejects.toThrow(/was replaced/);
    expect(cluster.takeActions().map(brief)).toEqual(["get replicasets web"]);
  });

  it("releases an owned pod whose labels stopped matching and replaces it", async () => {
    const { cluster, rsc } = setup();
    const rs = replicaSet("web", { replicas: 1, uid: "rs-1" });
    cluster.seed(replicaSetsResource, rs);
    cluster.seed(podsResource, pod("relabelled", { labels: { app: "debug" }, owner: rs }));
    await rsc.sync("default/web");
    const actions = cluster.takeActions();
    expect(actions.map(brief)).toEqual([
      "patch pods relabelled",
      "create pods web-bbbbb",
      "updateStatus replicasets web",
    ]);
    expect(actions[0]!.body).toEqual({
      metadata: { ownerReferences: null, resourceVersion: expect.any(String) },
    });
  });

  it("wakes the owner on pod events and every matching ReplicaSet for an orphan", async () => {
    const { cluster } = setup({ autoFlush: true });
    const rs = replicaSet("web", { uid: "rs-1" });
    cluster.seed(replicaSetsResource, rs, replicaSet("web2", { selector: { app: "web" } }), replicaSet("db"));
    await cluster.client.create(podsResource, "default", pod("", { labels: { app: "web" } }));
    expect(cluster.queue.added.sort()).toEqual(["default/web", "default/web2"]);
    cluster.queue.added.length = 0;
    const owned = pod("owned", { labels: { app: "web" }, owner: rs });
    await cluster.client.create(podsResource, "default", owned);
    await cluster.client.delete(podsResource, "default", "owned");
    expect(cluster.queue.added).toEqual(["default/web", "default/web"]);
  });
});

describe("ReplicaSet controller: availability", () => {
  it("counts a Ready pod available only after minReadySeconds and requeues for that moment", async () => {
    const { cluster, rsc } = setup();
    const rs = replicaSet("web", { replicas: 2, uid: "rs-1", minReadySeconds: 10 });
    cluster.seed(replicaSetsResource, rs);
    cluster.seed(
      podsResource,
      pod("early", { labels: { app: "web" }, owner: rs, node: "n1", readySince: t0 - 20_000 }),
      pod("late", { labels: { app: "web" }, owner: rs, node: "n1", readySince: t0 - 4_000 }),
    );
    await rsc.sync("default/web");
    expect(statusOf(cluster.takeActions()[0])).toMatchObject({
      replicas: 2,
      readyReplicas: 2,
      availableReplicas: 1,
    });
    // ready at t0-4s + 10 s = t0+6s
    expect(cluster.queue.after).toEqual([["default/web", 6_000]]);
    cluster.flush();
    cluster.clock.advance(6_000);
    await rsc.sync("default/web");
    expect(statusOf(cluster.takeActions()[0])).toMatchObject({ availableReplicas: 2 });
  });

  it("counts pods carrying every template label as fully labeled", async () => {
    const { cluster, rsc } = setup();
    const rs = replicaSet("web", {
      replicas: 2,
      uid: "rs-1",
      selector: { app: "web" },
      labels: { app: "web", tier: "front" },
    });
    cluster.seed(replicaSetsResource, rs);
    cluster.seed(
      podsResource,
      pod("full", { labels: { app: "web", tier: "front" }, owner: rs }),
      pod("partial", { labels: { app: "web" }, owner: rs }),
    );
    await rsc.sync("default/web");
    expect(statusOf(cluster.takeActions()[0])).toMatchObject({ replicas: 2, fullyLabeledReplicas: 1 });
  });

  it("writes no status when nothing changed", async () => {
    const { cluster, rsc } = setup();
    const rs = replicaSet("web", {
      replicas: 1,
      uid: "rs-1",
      status: {
        replicas: 1,
        fullyLabeledReplicas: 1,
        readyReplicas: 1,
        availableReplicas: 1,
        observedGeneration: 1,
      },
    });
    cluster.seed(replicaSetsResource, rs);
    cluster.seed(podsResource, pod("a", { labels: { app: "web" }, owner: rs, node: "n1", readySince: t0 }));
    await rsc.sync("default/web");
    expect(cluster.takeActions()).toEqual([]);
  });
});
