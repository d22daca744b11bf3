import { describe, expect, it } from "vitest";
import { ApiError } from "../../../foundation/api/errors.js";
import type { KubeObject } from "../../../foundation/api/object.js";
import { resourceForKind, resources } from "../../../foundation/api/resources.js";
import type { ConfigMap, Deployment, Node, OwnerReference, Pod } from "../../../proto/gen/api.js";
import type { ApiObject, ControllerClient, ControllerDeleteOptions } from "../../client/controller-client.js";
import { type Action, FakeCluster } from "../testing/fake-cluster.js";
import { controllerRef, deployment, pod, replicaSet } from "../testing/fixtures.js";
import { GarbageCollector } from "./garbage-collector.js";

const podsR = resourceForKind("v1", "Pod")!;
const rsR = resourceForKind("apps/v1", "ReplicaSet")!;
const deployR = resourceForKind("apps/v1", "Deployment")!;
const cmR = resourceForKind("v1", "ConfigMap")!;
const nodesR = resourceForKind("v1", "Node")!;

const stamp = "2024-01-01T00:00:00Z";

function setup() {
  const cluster = new FakeCluster();
  // The fake client records deletes without their options; the options are what these tests check.
  const deletes: { name: string; opts: ControllerDeleteOptions | undefined }[] = [];
  const client: ControllerClient = {
    ...cluster.client,
    delete: (info, namespace, name, opts) => {
      deletes.push({ name, opts });
      return cluster.client.delete(info, namespace, name, opts);
    },
  };
  const gc = new GarbageCollector({
    resources: resources.map((info) => ({ info, lister: cluster.lister<KubeObject>(info) })),
    client,
    recorder: cluster.recorder,
    queue: cluster.workQueue,
  });
  for (const info of resources) cluster.addHandler(info, gc.handlerFor(info));
  return { cluster, gc, deletes };
}

const brief = (a: Action): string => `${a.verb} ${a.resource} ${a.name}`;

function owned<T extends ApiObject>(obj: T, ...owners: ApiObject[]): T {
  obj.metadata.ownerReferences = owners.map(controllerRef);
  return obj;
}

function deleting<T extends ApiObject>(obj: T, ...finalizers: string[]): T {
  obj.metadata.deletionTimestamp = stamp;
  if (finalizers.length > 0) obj.metadata.finalizers = finalizers;
  return obj;
}

function configMap(name: string): ConfigMap {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "default" } };
}

describe("garbage collector: dependents of missing owners (background)", () => {
  it("deletes a dependent whose owner is neither cached nor on the server, with a uid precondition", async () => {
    const { cluster, gc, deletes } = setup();
    const gone = replicaSet("web", { uid: "rs-gone" });
    cluster.seed(podsR, owned(pod("web-1", { uid: "p1" }), gone));
    await gc.sync("pods:default/web-1");
    expect(cluster.takeActions().map(brief)).toEqual(["get replicasets web", "delete pods web-1"]);
    expect(deletes).toEqual([{ name: "web-1", opts: { propagationPolicy: "Background", uid: "p1" } }]);
  });

  it("treats an owner replaced by a new object of the same name (another uid) as gone", async () => {
    const { cluster, gc } = setup();
    cluster.seed(rsR, replicaSet("web", { uid: "rs-new" }));
    cluster.seed(podsR, owned(pod("web-1"), replicaSet("web", { uid: "rs-old" })));
    await gc.sync("pods:default/web-1");
    expect(cluster.takeActions().map(brief)).toEqual(["get replicasets web", "delete pods web-1"]);
  });

  it("keeps a dependent whose owner the cache has not seen yet but the server has", async () => {
    const { cluster, gc } = setup();
    // Created a moment ago: on the server, its watch event still in flight to the RS cache.
    const created = await cluster.client.create(rsR, "default", replicaSet("web"));
    cluster.seed(podsR, owned(pod("web-1"), created));
    cluster.takeActions();
    await gc.sync("pods:default/web-1");
    expect(cluster.takeActions().map(brief)).toEqual(["get replicasets web"]);
  });

  it("does not read the server when the cache holds the owner with the same uid", async () => {
    const { cluster, gc } = setup();
    const rs = replicaSet("web", { uid: "rs-1" });
    cluster.seed(rsR, rs);
    cluster.seed(podsR, owned(pod("web-1"), rs));
    await gc.sync("pods:default/web-1");
    expect(cluster.takeActions()).toEqual([]);
  });

  it("drops only the references to gone owners when another owner is alive", async () => {
    const { cluster, gc } = setup();
    const alive = replicaSet("a", { uid: "rs-a" });
    const gone = replicaSet("b", { uid: "rs-b" });
    cluster.seed(rsR, alive);
    cluster.seed(cmR, owned(configMap("shared"), alive, gone));
    await gc.sync("configmaps:default/shared");
    const actions = cluster.takeActions();
    expect(actions.map(brief)).toEqual(["get replicasets b", "patch configmaps shared"]);
    expect(actions[1]!.body).toEqual({
      metadata: { ownerReferences: [controllerRef(alive)], resourceVersion: expect.any(String) },
    });
  });

  it("keeps objects whose owner kind is not served, and warns about a cluster-scoped dependent of a namespaced owner", async () => {
    const { cluster, gc } = setup();
    const cm = configMap("x");
    cm.metadata.ownerReferences = [{ apiVersion: "example.com/v1", kind: "Widget", name: "w", uid: "w-1" }];
    cluster.seed(cmR, cm);
    const node: Node = { apiVersion: "v1", kind: "Node", metadata: { name: "n1" } };
    cluster.seed(nodesR, owned(node, replicaSet("web", { uid: "rs-1" })));
    await gc.sync("configmaps:default/x");
    await gc.sync("nodes:n1");
    expect(cluster.takeActions()).toEqual([]);
    expect(cluster.events.map((e) => `${e.type} ${e.reason} ${e.object}`)).toEqual([
      "Warning OwnerRefInvalidNamespace n1",
    ]);
  });

  it("leaves objects that are already being deleted, and swallows NotFound and uid Conflicts on delete", async () => {
    const { cluster, gc } = setup();
    const gone = replicaSet("web", { uid: "rs-gone" });
    cluster.seed(podsR, deleting(owned(pod("terminating"), gone)));
    await gc.sync("pods:default/terminating");
    expect(cluster.takeActions()).toEqual([]);

    cluster.seed(podsR, owned(pod("raced"), gone));
    cluster.failNext("delete", podsR, new ApiError("Conflict", "uid precondition failed"));
    await gc.sync("pods:default/raced");
    cluster.failNext("delete", podsR, new ApiError("NotFound", "gone"));
    await gc.sync("pods:default/raced");
    expect(cluster.takeActions().map(brief)).toEqual([
      "get replicasets web",
      "delete pods raced",
      "get replicasets web",
      "delete pods raced",
    ]);
  });

  it("throws on a stale resourceVersion so the key is retried", async () => {
    const { cluster, gc } = setup();
    const alive = replicaSet("a", { uid: "rs-a" });
    cluster.seed(rsR, alive);
    cluster.seed(cmR, owned(configMap("shared"), alive, replicaSet("b", { uid: "rs-b" })));
    cluster.failNext("patch", cmR, new ApiError("Conflict", "the object has been modified"));
    await expect(gc.sync("configmaps:default/shared")).rejects.toThrow(/modified/);
  });

  it("ignores keys of untracked resources and objects no longer cached", async () => {
    const { cluster, gc } = setup();
    await gc.sync("widgets.example.com:default/w");
    await gc.sync("pods:default/missing");
    expect(cluster.takeActions()).toEqual([]);
    await expect(gc.sync("no-colon")).rejects.toThrow(/garbage collector key "no-colon"/);
  });
});

describe("garbage collector: foreground deletion", () => {
  it("queues the dependents of an owner waiting for them and keeps its finalizer while one blocks", async () => {
    const { cluster, gc } = setup();
    const d = deleting(deployment("web", { uid: "d-1" }), "foregroundDeletion");
    cluster.seed(deployR, d);
    cluster.seed(rsR, owned(replicaSet("web-1"), d));
    await gc.sync("deployments.apps:default/web");
    expect(cluster.takeActions()).toEqual([]);
    expect(cluster.queue.added).toEqual(["replicasets.apps:default/web-1"]);
  });

  it("deletes a dependent of a waiting owner in foreground when it has dependents itself, background when not", async () => {
    const { cluster, gc, deletes } = setup();
    const d = deleting(deployment("web", { uid: "d-1" }), "foregroundDeletion");
    cluster.seed(deployR, d);
    const rs = owned(replicaSet("web-1", { uid: "rs-1" }), d);
    const lone = owned(replicaSet("web-2", { uid: "rs-2" }), d);
    cluster.seed(rsR, rs, lone);
    cluster.seed(podsR, owned(pod("web-1-a"), rs));
    await gc.sync("replicasets.apps:default/web-1");
    await gc.sync("replicasets.apps:default/web-2");
    expect(deletes).toEqual([
      { name: "web-1", opts: { propagationPolicy: "Foreground", uid: "rs-1" } },
      { name: "web-2", opts: { propagationPolicy: "Background", uid: "rs-2" } },
    ]);
  });

  it("removes foregroundDeletion once only non-blocking dependents remain (they are still deleted)", async () => {
    const { cluster, gc } = setup();
    const d = deleting(deployment("web", { uid: "d-1" }), "foregroundDeletion", "example.com/keep");
    cluster.seed(deployR, d);
    const ref: OwnerReference = { ...controllerRef(d), blockOwnerDeletion: false };
    const cm = configMap("settings");
    cm.metadata.ownerReferences = [ref];
    cluster.seed(cmR, cm);
    await gc.sync("deployments.apps:default/web");
    const actions = cluster.takeActions();
    expect(actions.map(brief)).toEqual(["patch deployments web"]);
    expect(actions[0]!.body).toEqual({
      metadata: { finalizers: ["example.com/keep"], resourceVersion: expect.any(String) },
    });
    expect(cluster.queue.added).toEqual(["configmaps:default/settings"]);
  });

  it("drops a waiting owner's reference from a dependent that has another live owner", async () => {
    const { cluster, gc, deletes } = setup();
    const waiting = deleting(replicaSet("a", { uid: "rs-a" }), "foregroundDeletion");
    const alive = replicaSet("b", { uid: "rs-b" });
    cluster.seed(rsR, waiting, alive);
    cluster.seed(cmR, owned(configMap("shared"), waiting, alive));
    await gc.sync("configmaps:default/shared");
    const actions = cluster.takeActions();
    expect(actions.map(brief)).toEqual(["patch configmaps shared"]);
    expect(actions[0]!.body).toMatchObject({ metadata: { ownerReferences: [controllerRef(alive)] } });
    expect(deletes).toEqual([]);
  });
});

describe("garbage collector: orphaning", () => {
  it("strips the owner's reference from every dependent, then removes the orphan finalizer", async () => {
    const { cluster, gc } = setup();
    const rs = deleting(replicaSet("web", { uid: "rs-1" }), "orphan");
    const other = replicaSet("other", { uid: "rs-2" });
    cluster.seed(rsR, rs, other);
    cluster.seed(podsR, owned(pod("web-a"), rs), owned(pod("web-b"), rs, other));
    await gc.sync("replicasets.apps:default/web");
    const actions = cluster.takeActions();
    expect(actions.map(brief).sort()).toEqual([
      "patch pods web-a",
      "patch pods web-b",
      "patch replicasets web",
    ]);
    const bodyOf = (name: string) => actions.find((a) => a.name === name)!.body;
    expect(bodyOf("web-a")).toEqual({
      metadata: { ownerReferences: null, resourceVersion: expect.any(String) },
    });
    expect(bodyOf("web-b")).toMatchObject({ metadata: { ownerReferences: [controllerRef(other)] } });
    expect(bodyOf("web")).toEqual({ metadata: { finalizers: null, resourceVersion: expect.any(String) } });
    expect(cluster.events.map((e) => e.reason)).toEqual(["OrphanedDependents"]);
  });

  it("removes the finalizer at once when there is nothing to orphan", async () => {
    const { cluster, gc } = setup();
    cluster.seed(deployR, deleting(deployment("web"), "orphan") as Deployment);
    await gc.sync("deployments.apps:default/web");
    expect(cluster.takeActions().map(brief)).toEqual(["patch deployments web"]);
    expect(cluster.events).toEqual([]);
  });
});

describe("garbage collector: event handlers", () => {
  it("queues the dependents of a deleted owner, and the owners of a dependent that changed references", async () => {
    const { cluster } = setup();
    const rs = replicaSet("web", { uid: "rs-1" });
    cluster.seed(rsR, rs);
    cluster.seed(podsR, owned(pod("web-1"), rs));
    await cluster.client.delete(rsR, "default", "web");
    cluster.flush();
    expect(cluster.queue.added).toEqual(["pods:default/web-1"]);

    cluster.queue.added.length = 0;
    cluster.mutate<Pod>(podsR, "default/web-1", (p) => {
      delete p.metadata.ownerReferences;
    });
    cluster.flush();
    expect(cluster.queue.added).toEqual(["replicasets.apps:default/web"]);
  });

  it("queues new objects only when they have owners or are being deleted", () => {
    const { cluster } = setup();
    const rs = replicaSet("web", { uid: "rs-1" });
    cluster.autoFlush = true;
    void cluster.client.create(cmR, "default", configMap("plain"));
    void cluster.client.create(cmR, "default", owned(configMap("child"), rs));
    expect(cluster.queue.added).toEqual(["configmaps:default/child"]);
  });
});
