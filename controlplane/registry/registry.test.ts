import { Etcd3 } from "etcd3";
import { Registry as MetricsRegistry } from "prom-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type ApiError, isApiError } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { type ResourceInfo, resourceForPlural } from "../../foundation/api/resources.js";
import type { WatchEvent } from "../../foundation/api/watch.js";
import { FakeClock } from "../../foundation/util/clock.js";
import { Store } from "../store/store.js";
import { type EtcdServer, startEtcd } from "../testing/etcd-server.js";
import { applyMergePatch, applyStrategicMergePatch } from "./merge-patch.js";
import { Registry } from "./registry.js";

const info = (group: string, plural: string): ResourceInfo => resourceForPlural(group, plural)!;
const pods = info("", "pods");
const namespaces = info("", "namespaces");
const configmaps = info("", "configmaps");
const deployments = info("apps", "deployments");

const podBody = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name },
  spec: { containers: [{ name: "c", image: "busybox", ports: [{ containerPort: 80 }] }], ...extra },
});

const deploymentBody = (name: string, replicas = 2) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, labels: { app: name } },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: "web", image: "nginx:1", ports: [{ containerPort: 80 }] }] },
    },
  },
});

async function failure(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!err) throw new Error("expected a failure");
  return err as ApiError;
}

describe("Registry over a real etcd", () => {
  let etcd: EtcdServer;
  let client: Etcd3;
  let store: Store;
  let registry: Registry;
  const clock = new FakeClock(Date.parse("2024-05-01T12:00:00Z"));

  beforeAll(async () => {
    etcd = await startEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
    store = new Store({ client, metrics: new MetricsRegistry() });
    registry = new Registry({ store, clock });
  });

  afterAll(async () => {
    store?.close();
    client?.close();
    await etcd?.stop();
  });

  beforeEach(async () => {
    await client.delete().prefix("/registry/");
    await registry.ensureSystemNamespaces();
  });

  it("ensures default and kube-system exist, idempotently", async () => {
    await registry.ensureSystemNamespaces();
    const list = await registry.list(namespaces);
    expect(list.kind).toBe("NamespaceList");
    expect(list.items.map((n) => [n.metadata.name, (n.status as { phase: string }).phase])).toEqual([
      ["default", "Active"],
      ["kube-system", "Active"],
    ]);
  });

  it("creates with server-set metadata, defaults and a reset status", async () => {
    const pod = await registry.create(
      pods,
      { ...podBody("web"), status: { phase: "Running" } },
      { namespace: "default" },
    );
    expect(pod.metadata).toMatchObject({
      name: "web",
      namespace: "default",
      generation: 1,
      creationTimestamp: "2024-05-01T12:00:00Z",
    });
    expect(pod.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(pod.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(pod.status).toEqual({ phase: "Pending" });
    expect((pod.spec as { restartPolicy: string }).restartPolicy).toBe("Always");
    expect(await registry.get(pods, "default", "web")).toEqual(pod);
  });

  it("makes names from generateName", async () => {
    const body = { ...podBody(""), metadata: { generateName: "web-" } };
    const a = await registry.create(pods, body, { namespace: "default" });
    const b = await registry.create(pods, body, { namespace: "default" });
    expect(a.metadata.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(b.metadata.name).not.toBe(a.metadata.name);
  });

  it("refuses bad input naming the field, and writes nothing", async () => {
    const bad = await failure(
      registry.create(pods, { ...podBody("Web"), spec: { containers: [] } }, { namespace: "default" }),
    );
    expect(bad.reason).toBe("Invalid");
    expect(bad.code).toBe(422);
    expect(bad.details?.causes?.map((c) => c.field)).toEqual(
      expect.arrayContaining(["metadata.name", "spec.containers"]),
    );
    const typed = await failure(
      registry.create(pods, { ...podBody("a"), spec: { containers: "x" } }, { namespace: "default" }),
    );
    expect(typed.reason).toBe("Invalid");
    const mismatch = await failure(
      registry.create(
        pods,
        { ...podBody("a"), metadata: { name: "a", namespace: "other" } },
        { namespace: "default" },
      ),
    );
    expect(mismatch.message).toContain("does not match the namespace sent on the request");
    const noNs = await failure(registry.create(pods, podBody("a"), { namespace: "nope" }));
    expect([noNs.reason, noNs.message]).toEqual(["NotFound", 'Namespace "nope" not found']);
    const wrongKind = await failure(
      registry.create(pods, { ...podBody("a"), kind: "Service" }, { namespace: "default" }),
    );
    expect(wrongKind.reason).toBe("BadRequest");
    expect((await registry.list(pods)).items).toEqual([]);
  });

  it("lets Events expire: they are stored on an etcd lease", async () => {
    await registry.create(
      info("", "events"),
      {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: "web.1" },
        involvedObject: { kind: "Pod", name: "web", namespace: "default" },
        reason: "Scheduled",
        type: "Normal",
      },
      { namespace: "default" },
    );
    const kv = (await client.kv.range({ key: Buffer.from("/registry/events/default/web.1") })).kvs[0]!;
    const ttl = await client.leaseClient.leaseTimeToLive({ ID: kv.lease });
    // Shared leases run 5% longer than the ttl (see store/lease-pool.ts).
    expect(Number(ttl.grantedTTL)).toBe(3780);
  });

  it("refuses objects over 1.5 MiB with 413", async () => {
    const err = await failure(
      registry.create(
        configmaps,
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "big" },
          data: Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`k${i}`, "x".repeat(500 * 1024)])),
        },
        { namespace: "default" },
      ),
    );
    expect(err.code).toBe(413);
    expect(err.message).toContain("1.5 MiB");
  });

  it("dry-run create and delete write nothing but still check", async () => {
    const dry = await registry.create(pods, podBody("dry"), { namespace: "default", dryRun: true });
    expect(dry.metadata.uid).toBeDefined();
    expect(dry.metadata.resourceVersion).toBeUndefined();
    expect((await registry.list(pods)).items).toEqual([]);
    await registry.create(pods, podBody("dry"), { namespace: "default" });
    expect(
      (await failure(registry.create(pods, podBody("dry"), { namespace: "default", dryRun: true }))).reason,
    ).toBe("AlreadyExists");
    const res = await registry.delete(pods, "default", "dry", { dryRun: true });
    expect(res.removed).toBe(true);
    await registry.get(pods, "default", "dry");
    await registry.update(
      pods,
      "default",
      "dry",
      { ...podBody("dry"), metadata: { name: "dry", labels: { a: "b" } } },
      { dryRun: true },
    );
    expect((await registry.get(pods, "default", "dry")).metadata.labels).toBeUndefined();
  });

  it("bumps generation on spec changes only and keeps status on PUT", async () => {
    const d = await registry.create(deployments, deploymentBody("web"), { namespace: "default" });
    const withStatus = await registry.updateStatus(deployments, "default", "web", {
      ...d,
      spec: { ...(d.spec as object), replicas: 9 },
      status: { replicas: 2, observedGeneration: 1 },
    });
    expect((withStatus.spec as { replicas: number }).replicas).toBe(2);
    expect(withStatus.status).toEqual({ replicas: 2, observedGeneration: 1 });
    expect(withStatus.metadata.generation).toBe(1);

    const ignored = await registry.updateStatus(deployments, "default", "web", {
      ...withStatus,
      spec: { replicas: -1, notAField: true },
      metadata: { ...withStatus.metadata, labels: { changed: "yes" } },
      status: { replicas: 3, observedGeneration: 1 },
    });
    expect(ignored.spec).toEqual(d.spec);
    expect(ignored.metadata.labels).toEqual(d.metadata.labels);
    expect(ignored.status).toEqual({ replicas: 3, observedGeneration: 1 });
    await expect(
      registry.updateStatus(deployments, "default", "web", { ...ignored, status: { replicas: "three" } }),
    ).rejects.toThrow(/status.replicas: Invalid value: "three": expected an integer/);

    const relabel = await registry.update(deployments, "default", "web", {
      ...deploymentBody("web"),
      metadata: { name: "web", labels: { app: "web", tier: "front" } },
      status: { replicas: 100 },
    });
    expect(relabel.metadata.generation).toBe(1);
    expect(relabel.status).toEqual({ replicas: 3, observedGeneration: 1 });
    expect(relabel.metadata.uid).toBe(d.metadata.uid);
    expect(relabel.metadata.creationTimestamp).toBe(d.metadata.creationTimestamp);

    const scaled = await registry.update(deployments, "default", "web", deploymentBody("web", 5));
    expect(scaled.metadata.generation).toBe(2);
    const same = await registry.update(deployments, "default", "web", deploymentBody("web", 5));
    expect(same.metadata.resourceVersion).toBe(scaled.metadata.resourceVersion);
  });

  it("answers a stale resourceVersion with 409 and changes nothing", async () => {
    const d = await registry.create(deployments, deploymentBody("web"), { namespace: "default" });
    await registry.update(deployments, "default", "web", deploymentBody("web", 3));
    const stale = await failure(
      registry.update(deployments, "default", "web", {
        ...deploymentBody("web", 4),
        metadata: { ...d.metadata },
      }),
    );
    expect([stale.code, stale.reason]).toEqual([409, "Conflict"]);
    expect(((await registry.get(deployments, "default", "web")).spec as { replicas: number }).replicas).toBe(
      3,
    );
    const immutable = await failure(
      registry.update(deployments, "default", "web", {
        ...deploymentBody("web"),
        spec: { ...deploymentBody("web").spec, selector: { matchLabels: { app: "web", x: "y" } } },
      }),
    );
    expect(immutable.reason).toBe("Invalid");
  });

  it("merge-patches and strategic-patches like kubectl", async () => {
    await registry.create(deployments, deploymentBody("web"), { namespace: "default" });
    const p1 = await registry.patch(deployments, "default", "web", {
      metadata: { labels: { tier: "x", app: null } },
    });
    expect(p1.metadata.labels).toEqual({ tier: "x" });
    const p2 = await registry.patch(
      deployments,
      "default",
      "web",
      { spec: { template: { spec: { containers: [{ name: "web", image: "nginx:2" }] } } } },
      { type: "strategic" },
    );
    const c = (p2.spec as { template: { spec: { containers: { image: string; ports: unknown[] }[] } } })
      .template.spec.containers[0]!;
    expect([c.image, c.ports]).toEqual(["nginx:2", [{ containerPort: 80, protocol: "TCP" }]]);
    expect(p2.metadata.generation).toBe(2);
    const merge = await registry.patch(deployments, "default", "web", {
      spec: { template: { spec: { containers: [{ name: "web", image: "nginx:3" }] } } },
    });
    expect(
      (merge.spec as { template: { spec: { containers: { ports?: unknown }[] } } }).template.spec
        .containers[0]!.ports,
    ).toBeUndefined();
    const bad = await failure(
      registry.patch(deployments, "default", "web", { $foo: 1 }, { type: "strategic" }),
    );
    expect(bad.message).toContain("unsupported directive at $foo");
    expect((await failure(registry.patch(deployments, "default", "web", [1]))).reason).toBe("BadRequest");
    const stale = await failure(
      registry.patch(deployments, "default", "web", { metadata: { resourceVersion: "2" } }),
    );
    expect(stale.reason).toBe("Conflict");
  });

  it("implements RFC 7386 and the strategic directives kubectl sends", () => {
    expect(applyMergePatch({ a: "b", c: { d: "e", f: "g" } }, { a: "z", c: { f: null } })).toEqual({
      a: "z",
      c: { d: "e" },
    });
    expect(applyMergePatch({ a: [1, 2] }, { a: [3] })).toEqual({ a: [3] });
    expect(
      applyStrategicMergePatch(
        {
          metadata: { finalizers: ["a", "b"] },
          spec: {
            containers: [
              { name: "x", image: "1" },
              { name: "y", image: "1" },
            ],
          },
        },
        {
          metadata: { "$deleteFromPrimitiveList/finalizers": ["a"] },
          spec: {
            "$setElementOrder/containers": [{ name: "x" }],
            containers: [{ name: "y", $patch: "delete" }],
          },
        },
      ),
    ).toEqual({ metadata: { finalizers: ["b"] }, spec: { containers: [{ name: "x", image: "1" }] } });
  });

  it("holds objects with finalizers until an update removes the last one", async () => {
    await registry.create(
      configmaps,
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm", finalizers: ["example.com/keep"] } },
      { namespace: "default" },
    );
    clock.advance(1000);
    const res = await registry.delete(configmaps, "default", "cm", { propagationPolicy: "Orphan" });
    expect(res.removed).toBe(false);
    expect(res.object.metadata.deletionTimestamp).toBe("2024-05-01T12:00:01Z");
    expect(res.object.metadata.finalizers).toEqual(["example.com/keep", "orphan"]);
    const again = await registry.delete(configmaps, "default", "cm", { propagationPolicy: "Orphan" });
    expect(again.object.metadata.resourceVersion).toBe(res.object.metadata.resourceVersion);
    const added = await failure(
      registry.patch(configmaps, "default", "cm", {
        metadata: { finalizers: ["example.com/keep", "orphan", "new"] },
      }),
    );
    expect(added.message).toContain("no new finalizers can be added");
    const kept = await registry.patch(configmaps, "default", "cm", { metadata: { finalizers: ["orphan"] } });
    expect(kept.metadata.deletionTimestamp).toBe("2024-05-01T12:00:01Z");
    await registry.patch(configmaps, "default", "cm", { metadata: { finalizers: null } });
    expect((await failure(registry.get(configmaps, "default", "cm"))).reason).toBe("NotFound");
  });

  it("deletes unbound pods at once and bound pods gracefully", async () => {
    await registry.create(pods, podBody("unbound"), { namespace: "default" });
    expect((await registry.delete(pods, "default", "unbound")).removed).toBe(true);

    await registry.create(pods, podBody("bound", { nodeName: "n1", terminationGracePeriodSeconds: 20 }), {
      namespace: "default",
    });
    const first = await registry.delete(pods, "default", "bound");
    expect(first.removed).toBe(false);
    expect(first.object.metadata.deletionGracePeriodSeconds).toBe(20);
    expect(first.object.metadata.deletionTimestamp).toBe(
      new Date(clock.now() + 20_000).toISOString().replace(".000", ""),
    );
    const shorter = await registry.delete(pods, "default", "bound", { gracePeriodSeconds: 5 });
    expect(shorter.object.metadata.deletionGracePeriodSeconds).toBe(5);
    // The agent's status writes during termination do not remove the pod.
    await registry.patchStatus(pods, "default", "bound", { status: { phase: "Running" } });
    await registry.get(pods, "default", "bound");
    const last = await registry.delete(pods, "default", "bound", { gracePeriodSeconds: 0 });
    expect(last.removed).toBe(true);
    const pre = await registry.create(pods, podBody("pre"), { namespace: "default" });
    const bad = await failure(registry.delete(pods, "default", "pre", { preconditions: { uid: "x" } }));
    expect(bad.message).toContain("Precondition failed: UID in precondition: x");
    await registry.delete(pods, "default", "pre", { preconditions: { uid: pre.metadata.uid! } });
  });

  it("terminates a namespace until its finalizer is removed, refusing new content", async () => {
    await registry.create(namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: "team" } });
    const res = await registry.delete(namespaces, undefined, "team");
    expect(res.removed).toBe(false);
    expect(res.object.status).toEqual({ phase: "Terminating" });
    expect(res.object.metadata.finalizers).toEqual(["kubernetes"]);
    const refused = await failure(registry.create(pods, podBody("p"), { namespace: "team" }));
    expect([refused.code, refused.message]).toEqual([
      403,
      "unable to create new content in namespace team because it is being terminated",
    ]);
    await registry.patch(namespaces, undefined, "team", { metadata: { finalizers: [] } });
    expect((await failure(registry.get(namespaces, undefined, "team"))).reason).toBe("NotFound");
  });

  it("refuses content in a namespace that began terminating after this registry last saw it open", async () => {
    await registry.create(namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: "crew" } });
    await registry.create(pods, podBody("first"), { namespace: "crew" });
    // Another control plane (its own registry, same etcd) deletes the namespace.
    const other = new Registry({ store, clock });
    await other.delete(namespaces, undefined, "crew");
    const refused = await failure(registry.create(pods, podBody("second"), { namespace: "crew" }));
    expect([refused.code, refused.message]).toEqual([
      403,
      "unable to create new content in namespace crew because it is being terminated",
    ]);
    await other.patch(namespaces, undefined, "crew", { metadata: { finalizers: [] } });
    await other.delete(pods, "crew", "first", { gracePeriodSeconds: 0 });
    expect((await failure(registry.create(pods, podBody("third"), { namespace: "crew" }))).reason).toBe(
      "NotFound",
    );
  });

  it("binds a pod once", async () => {
    await registry.create(pods, podBody("p"), { namespace: "default" });
    const binding = {
      apiVersion: "v1",
      kind: "Binding",
      metadata: { name: "p" },
      target: { kind: "Node", name: "n1" },
    };
    const dry = await registry.bind("default", "p", binding, { dryRun: true });
    expect((dry.spec as { nodeName: string }).nodeName).toBe("n1");
    const bound = await registry.bind("default", "p", binding);
    expect((bound.spec as { nodeName: string }).nodeName).toBe("n1");
    expect((bound.status as { conditions: { type: string; status: string }[] }).conditions).toEqual([
      expect.objectContaining({ type: "PodScheduled", status: "True" }),
    ]);
    const again = await failure(registry.bind("default", "p", { ...binding, target: { name: "n2" } }));
    expect([again.code, again.message]).toEqual([
      409,
      'Operation cannot be fulfilled on Pod "p": pod p is already assigned to node "n1"',
    ]);
    expect((await failure(registry.bind("default", "p", { ...binding, target: {} }))).reason).toBe("Invalid");
    // A user may not move a pod by editing its spec.
    const moved = await failure(registry.patch(pods, "default", "p", { spec: { nodeName: "n2" } }));
    expect(moved.reason).toBe("Invalid");
  });

  it("serves the scale subresource of Deployments", async () => {
    await registry.create(deployments, deploymentBody("web"), { namespace: "default" });
    const scale = await registry.getScale(deployments, "default", "web");
    expect(scale).toMatchObject({
      apiVersion: "autoscaling/v1",
      kind: "Scale",
      spec: { replicas: 2 },
      status: { replicas: 0, selector: "app=web" },
    });
    const up = await registry.updateScale(deployments, "default", "web", { ...scale, spec: { replicas: 4 } });
    expect(up.spec?.replicas).toBe(4);
    const patched = await registry.patchScale(deployments, "default", "web", { spec: { replicas: 1 } });
    expect(patched.spec?.replicas).toBe(1);
    const d = await registry.get(deployments, "default", "web");
    expect([(d.spec as { replicas: number }).replicas, d.metadata.generation]).toEqual([1, 3]);
    const stale = await failure(
      registry.updateScale(deployments, "default", "web", { ...scale, spec: { replicas: 7 } }),
    );
    expect(stale.reason).toBe("Conflict");
    const neg = await failure(registry.patchScale(deployments, "default", "web", { spec: { replicas: -1 } }));
    expect(neg.reason).toBe("Invalid");
    expect((await failure(registry.getScale(pods, "default", "web"))).reason).toBe("NotFound");
  });

  it("watches with string selectors", async () => {
    const events: WatchEvent<KubeObject>[] = [];
    const handle = await registry.watch(
      pods,
      { namespace: "default", labelSelector: "app=web" },
      (e) => events.push(e),
      () => {},
    );
    try {
      await registry.create(
        pods,
        { ...podBody("a"), metadata: { name: "a", labels: { app: "web" } } },
        { namespace: "default" },
      );
      await registry.create(pods, podBody("b"), { namespace: "default" });
      for (let i = 0; i < 100 && events.length < 1; i++) await new Promise((r) => setTimeout(r, 20));
      expect(events.map((e) => [e.type, e.object.metadata.name])).toEqual([["ADDED", "a"]]);
    } finally {
      handle.close();
    }
    const bad = await failure(registry.list(pods, { labelSelector: "a in (" }));
    expect(bad.reason).toBe("BadRequest");
    expect(
      isApiError(await failure(registry.list(pods, { fieldSelector: "spec.foo=1" })), "BadRequest"),
    ).toBe(true);
  });
});
