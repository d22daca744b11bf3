import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isApiError } from "../../../foundation/api/errors.js";
import type { KubeObject } from "../../../foundation/api/object.js";
import { type ResourceInfo, resourceForKind } from "../../../foundation/api/resources.js";
import { startGarbageCollector } from "../garbage-collector/start.js";
import { eventually } from "../garbage-collector/testing/eventually.js";
import { type RegistryHarness, startRegistryHarness } from "../garbage-collector/testing/registry-harness.js";
import { namespacesResource } from "./namespace-controller.js";
import { startNamespaceController } from "./start.js";

const podsR = resourceForKind("v1", "Pod")!;
const rsR = resourceForKind("apps/v1", "ReplicaSet")!;
const cmR = resourceForKind("v1", "ConfigMap")!;
const secretsR = resourceForKind("v1", "Secret")!;
const svcR = resourceForKind("v1", "Service")!;

describe("namespace controller on a real etcd and Registry", () => {
  let h: RegistryHarness;
  const stop = new AbortController();
  const done: Promise<void>[] = [];

  beforeAll(async () => {
    h = await startRegistryHarness();
    const common = { informers: h.informers, client: h.client, signal: stop.signal };
    done.push(
      startNamespaceController({
        ...common,
        content: h.registry,
        recorder: h.recorder("namespace-controller"),
        requeueBaseMs: 50,
        requeueMaxMs: 200,
      }).done,
      startGarbageCollector({ ...common, recorder: h.recorder("garbage-collector") }).done,
    );
  });

  afterAll(async () => {
    stop.abort();
    await Promise.all(done);
    await h?.stop();
  });

  const get = async (
    info: ResourceInfo,
    ns: string | undefined,
    name: string,
  ): Promise<KubeObject | undefined> => {
    try {
      return await h.registry.get(info, ns, name);
    } catch (err) {
      if (isApiError(err, "NotFound")) return undefined;
      throw err;
    }
  };

  it("deletes everything inside a namespace (a bound pod gracefully), then the namespace itself", async () => {
    const ns = "team-a";
    await h.registry.create(namespacesResource, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: ns },
    });
    const inNs = (info: ResourceInfo, obj: unknown) => h.registry.create(info, obj, { namespace: ns });
    const containers = [{ name: "c", image: "busybox" }];
    const rs = await inNs(rsR, {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: "web" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "web" } },
        template: { metadata: { labels: { app: "web" } }, spec: { containers } },
      },
    });
    await inNs(podsR, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "web-1",
        labels: { app: "web" },
        ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: rs.metadata.uid }],
      },
      spec: { containers, nodeName: "node-1" },
    });
    await inNs(podsR, { apiVersion: "v1", kind: "Pod", metadata: { name: "loose" }, spec: { containers } });
    await inNs(cmR, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "settings" },
      data: { a: "1" },
    });
    await inNs(secretsR, { apiVersion: "v1", kind: "Secret", metadata: { name: "token" } });
    await inNs(svcR, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web" },
      spec: { selector: { app: "web" }, ports: [{ port: 80 }] },
    });
    // Elsewhere, untouched.
    await h.registry.create(
      cmR,
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings" } },
      { namespace: "default" },
    );

    await h.registry.delete(namespacesResource, undefined, ns);
    expect((await get(namespacesResource, undefined, ns))?.status).toEqual({ phase: "Terminating" });

    const bound = await eventually(async () => {
      for (const [info, name] of [
        [rsR, "web"],
        [podsR, "loose"],
        [cmR, "settings"],
        [secretsR, "token"],
        [svcR, "web"],
      ] as const) {
        expect(await get(info, ns, name), `${info.plural}/${name}`).toBeUndefined();
      }
      const pod = await get(podsR, ns, "web-1");
      expect(pod?.metadata.deletionTimestamp).toBeDefined();
      return pod;
    });
    expect(bound?.metadata.deletionGracePeriodSeconds).toBe(30);
    // The namespace waits for the terminating pod.
    expect((await get(namespacesResource, undefined, ns))?.metadata.finalizers).toEqual(["kubernetes"]);

    // Its node agent finishes it.
    await h.registry.delete(podsR, ns, "web-1", { gracePeriodSeconds: 0 });
    await eventually(async () => expect(await get(namespacesResource, undefined, ns)).toBeUndefined());
    expect(await get(cmR, "default", "settings")).toBeDefined();
  });

  it("deletes an empty namespace at once", async () => {
    await h.registry.create(namespacesResource, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "empty" },
    });
    await h.registry.delete(namespacesResource, undefined, "empty");
    await eventually(async () => expect(await get(namespacesResource, undefined, "empty")).toBeUndefined());
  });
});
