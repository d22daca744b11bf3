import { describe, expect, it } from "vitest";
import { ApiError } from "../../../foundation/api/errors.js";
import type { KubeObject } from "../../../foundation/api/object.js";
import { resourceForKind, resources } from "../../../foundation/api/resources.js";
import type { ConfigMap, Namespace } from "../../../proto/gen/api.js";
import { type Action, FakeCluster } from "../testing/fake-cluster.js";
import { pod, replicaSet } from "../testing/fixtures.js";
import { NamespaceController, namespacesResource } from "./namespace-controller.js";

const podsR = resourceForKind("v1", "Pod")!;
const rsR = resourceForKind("apps/v1", "ReplicaSet")!;
const cmR = resourceForKind("v1", "ConfigMap")!;
const content = resources.filter((r) => r.namespaced);

function setup() {
  const cluster = new FakeCluster({ gracefulPodDeletion: true });
  const controller = new NamespaceController({
    namespaces: cluster.lister<Namespace>(namespacesResource),
    contentResources: content,
    // What the server holds, as the Registry's list would return it.
    content: {
      list: async (info, { namespace }) => ({
        items: cluster.storedList<KubeObject>(info).filter((o) => o.metadata.namespace === namespace),
      }),
    },
    client: cluster.client,
    recorder: cluster.recorder,
    queue: cluster.workQueue,
  });
  cluster.addHandler(namespacesResource, controller.namespaceHandler);
  for (const info of content) cluster.addHandler(info, controller.contentHandler);
  return { cluster, controller };
}

function namespace(name: string, o: { terminating?: boolean; finalizers?: string[] } = {}): Namespace {
  const ns: Namespace = {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name },
    status: { phase: "Active" },
  };
  if (o.terminating) {
    ns.metadata.deletionTimestamp = "2024-01-01T00:00:00Z";
    ns.metadata.finalizers = o.finalizers ?? ["kubernetes"];
    ns.status = { phase: "Terminating" };
  }
  return ns;
}

const configMap = (name: string): ConfigMap => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: "default" },
});

const brief = (a: Action): string => `${a.verb} ${a.resource} ${a.name}`;

describe("namespace controller", () => {
  it("deletes everything in a terminating namespace, waits for graceful pods, then removes its finalizer", async () => {
    const { cluster, controller } = setup();
    cluster.seed(namespacesResource, namespace("default", { terminating: true }));
    cluster.seed(podsR, pod("bound", { node: "node-1" }), pod("pending"));
    cluster.seed(rsR, replicaSet("web"));
    cluster.seed(cmR, configMap("settings"));

    await controller.sync("default");
    expect(cluster.takeActions().map(brief)).toEqual([
      "delete pods bound",
      "delete pods pending",
      "delete configmaps settings",
      "delete replicasets web",
    ]);
    expect(cluster.queue.after).toEqual([["default", 1000]]);

    // The bound pod is still terminating: nothing more to delete, and the next look comes later.
    await controller.sync("default");
    expect(cluster.takeActions()).toEqual([]);
    expect(cluster.queue.after).toEqual([
      ["default", 1000],
      ["default", 2000],
    ]);

    cluster.flush();
    cluster.queue.added.length = 0;
    cluster.finishTermination(podsR, "default/bound");
    cluster.flush();
    expect(cluster.queue.added).toEqual(["default"]);

    await controller.sync("default");
    const actions = cluster.takeActions();
    expect(actions.map(brief)).toEqual(["patch namespaces default"]);
    expect(actions[0]!.body).toEqual({ metadata: { finalizers: null, resourceVersion: expect.any(String) } });
  });

  it("keeps other finalizers when removing its own", async () => {
    const { cluster, controller } = setup();
    cluster.seed(
      namespacesResource,
      namespace("team", { terminating: true, finalizers: ["kubernetes", "foregroundDeletion"] }),
    );
    await controller.sync("team");
    const actions = cluster.takeActions();
    expect(actions.map(brief)).toEqual(["patch namespaces team"]);
    expect(actions[0]!.body).toMatchObject({ metadata: { finalizers: ["foregroundDeletion"] } });
  });

  it("leaves active namespaces, namespaces without its finalizer, and unknown names alone", async () => {
    const { cluster, controller } = setup();
    cluster.seed(
      namespacesResource,
      namespace("default"),
      namespace("done", { terminating: true, finalizers: ["other"] }),
    );
    cluster.seed(cmR, configMap("settings"));
    for (const name of ["default", "done", "missing"]) await controller.sync(name);
    expect(cluster.takeActions()).toEqual([]);
    expect(cluster.queue.after).toEqual([]);
  });

  it("reports a failed delete with an event and an error naming the object, after trying the rest", async () => {
    const { cluster, controller } = setup();
    cluster.seed(namespacesResource, namespace("default", { terminating: true }));
    cluster.seed(cmR, configMap("a"));
    cluster.seed(rsR, replicaSet("web"));
    cluster.failNext("delete", cmR, new ApiError("Forbidden", "not allowed"));
    await expect(controller.sync("default")).rejects.toThrow(
      "namespace default: could not delete 1 object(s): configmaps/a: not allowed",
    );
    expect(cluster.takeActions().map(brief)).toEqual(["delete configmaps a", "delete replicasets web"]);
    expect(cluster.events.map((e) => `${e.type} ${e.reason}`)).toEqual([
      "Warning NamespaceDeletionContentFailure",
    ]);
  });

  it("enqueues a namespace when it turns terminating or loses an object while terminating", () => {
    const { cluster } = setup();
    cluster.seed(namespacesResource, namespace("active"));
    cluster.seed(cmR, { ...configMap("x"), metadata: { name: "x", namespace: "active" } });
    cluster.mutate<Namespace>(namespacesResource, "active", (ns) => {
      ns.metadata.labels = { team: "a" };
    });
    cluster.finishTermination(cmR, "active/x");
    cluster.flush();
    expect(cluster.queue.added).toEqual([]);
    cluster.mutate<Namespace>(namespacesResource, "active", (ns) => {
      ns.metadata.deletionTimestamp = "2024-01-01T00:00:00Z";
    });
    cluster.flush();
    expect(cluster.queue.added).toEqual(["active"]);
  });
});
