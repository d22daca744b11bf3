import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isApiError } from "../../../foundation/api/errors.js";
import type { KubeObject } from "../../../foundation/api/object.js";
import { type ResourceInfo, resourceForKind } from "../../../foundation/api/resources.js";
import type { OwnerReference } from "../../../proto/gen/api.js";
import { startGarbageCollector } from "./start.js";
import { eventually } from "./testing/eventually.js";
import { type RegistryHarness, startRegistryHarness } from "./testing/registry-harness.js";

const podsR = resourceForKind("v1", "Pod")!;
const rsR = resourceForKind("apps/v1", "ReplicaSet")!;
const deployR = resourceForKind("apps/v1", "Deployment")!;
const ns = "default";

const ref = (owner: KubeObject): OwnerReference => ({
  apiVersion: owner.apiVersion,
  kind: owner.kind,
  name: owner.metadata.name!,
  uid: owner.metadata.uid!,
  controller: true,
  blockOwnerDeletion: true,
});

const podTemplate = (app: string) => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: "c", image: "busybox" }] },
});

describe("garbage collector on a real etcd and Registry", () => {
  let h: RegistryHarness;
  const stop = new AbortController();
  let done: Promise<void>;
  const errors: unknown[] = [];

  beforeAll(async () => {
    h = await startRegistryHarness();
    ({ done } = startGarbageCollector({
      informers: h.informers,
      client: h.client,
      recorder: h.recorder("garbage-collector"),
      signal: stop.signal,
      onError: (_key, err) => errors.push(err),
    }));
  });

  afterAll(async () => {
    stop.abort();
    await done;
    await h?.stop();
  });

  const create = (info: ResourceInfo, obj: unknown) => h.registry.create(info, obj, { namespace: ns });
  const exists = async (info: ResourceInfo, name: string): Promise<KubeObject | undefined> => {
    try {
      return await h.registry.get(info, ns, name);
    } catch (err) {
      if (isApiError(err, "NotFound")) return undefined;
      throw err;
    }
  };
  const gone = async (info: ResourceInfo, name: string) => expect(await exists(info, name)).toBeUndefined();

  /** Deployment → ReplicaSet → two pods (one unbound, one bound to a node), owners set by hand. */
  async function chain(app: string) {
    const d = await create(deployR, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: app },
      spec: { replicas: 2, selector: { matchLabels: { app } }, template: podTemplate(app) },
    });
    const rs = await create(rsR, {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: `${app}-rs`, ownerReferences: [ref(d)] },
      spec: { replicas: 2, selector: { matchLabels: { app } }, template: podTemplate(app) },
    });
    const pod = (name: string, nodeName?: string) =>
      create(podsR, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, labels: { app }, ownerReferences: [ref(rs)] },
        spec: { containers: [{ name: "c", image: "busybox" }], ...(nodeName ? { nodeName } : {}) },
      });
    return { d, rs, pending: await pod(`${app}-pending`), bound: await pod(`${app}-bound`, "node-1") };
  }

  /** What a node agent does once the containers stopped: the final delete with no grace. */
  const agentFinishes = (name: string) => h.registry.delete(podsR, ns, name, { gracePeriodSeconds: 0 });

  it("background: deleting a Deployment removes its ReplicaSet, then its pods (bound ones gracefully)", async () => {
    await chain("bg");
    await h.registry.delete(deployR, ns, "bg");
    await eventually(() => gone(rsR, "bg-rs"));
    await eventually(() => gone(podsR, "bg-pending"));
    const terminating = await eventually(async () => {
      const p = await exists(podsR, "bg-bound");
      expect(p?.metadata.deletionTimestamp).toBeDefined();
      return p;
    });
    expect(terminating?.metadata.deletionGracePeriodSeconds).toBe(30);
    await agentFinishes("bg-bound");
    await gone(podsR, "bg-bound");
  });

  it("foreground: the Deployment and ReplicaSet stay until their last pod is gone, then go in order", async () => {
    await chain("fg");
    await h.registry.delete(deployR, ns, "fg", { propagationPolicy: "Foreground" });
    await eventually(() => gone(podsR, "fg-pending"));
    const [rs, d] = await eventually(async () => {
      const pod = await exists(podsR, "fg-bound");
      expect(pod?.metadata.deletionTimestamp).toBeDefined();
      const rs = await exists(rsR, "fg-rs");
      expect(rs?.metadata.finalizers).toEqual(["foregroundDeletion"]);
      return [rs, await exists(deployR, "fg")];
    });
    expect(rs?.metadata.deletionTimestamp).toBeDefined();
    expect(d?.metadata.finalizers).toEqual(["foregroundDeletion"]);
    await agentFinishes("fg-bound");
    await eventually(() => gone(rsR, "fg-rs"));
    await eventually(() => gone(deployR, "fg"));
  });

  it("orphan: deleting a ReplicaSet leaves its pods, without the owner reference", async () => {
    const { d } = await chain("or");
    await h.registry.delete(rsR, ns, "or-rs", { propagationPolicy: "Orphan" });
    await eventually(() => gone(rsR, "or-rs"));
    for (const name of ["or-pending", "or-bound"]) {
      const pod = await exists(podsR, name);
      expect(pod?.metadata.deletionTimestamp).toBeUndefined();
      expect(pod?.metadata.ownerReferences).toBeUndefined();
    }
    expect(await h.eventsAbout("or-rs")).toEqual([
      "Normal OrphanedDependents: Orphaned 2 dependent(s): their owner reference to ReplicaSet or-rs was removed",
    ]);
    // The Deployment is untouched and, owning nothing now, stays.
    expect(await exists(deployR, d.metadata.name!)).toBeDefined();
  });

  it("deletes an object whose owner reference names a uid that never existed, and keeps one whose owner is live", async () => {
    const owner = await create(rsR, {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: "real-owner" },
      spec: { replicas: 0, selector: { matchLabels: { app: "real" } }, template: podTemplate("real") },
    });
    const phantom = { ...ref(owner), name: "real-owner", uid: "00000000-0000-0000-0000-000000000000" };
    await create(podsR, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "dangling", ownerReferences: [phantom] },
      spec: { containers: [{ name: "c", image: "busybox" }] },
    });
    await create(podsR, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "kept", ownerReferences: [ref(owner)] },
      spec: { containers: [{ name: "c", image: "busybox" }] },
    });
    await eventually(() => gone(podsR, "dangling"));
    expect(await exists(podsR, "kept")).toBeDefined();
    expect(errors.filter((e) => !isApiError(e, "Conflict"))).toEqual([]);
  });
});
