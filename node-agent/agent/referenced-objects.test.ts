import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../foundation/api/object.js";
import type { Pod } from "../../proto/gen/api.js";
import type { ObjectEvent, WatchObjectsRequest } from "../../proto/gen/node.js";
import type { NodeClient } from "./node-client.js";
import { ReferencedObjects } from "./referenced-objects.js";

type FakeStream = EventEmitter & { request: WatchObjectsRequest; cancelled: boolean; cancel(): void };

/** A NodeService whose WatchObjects streams the test drives and whose reads it counts. */
function setup() {
  const streams: FakeStream[] = [];
  const reads: string[] = [];
  const stored = new Map<string, KubeObject>();
  const client = {
    watchObjects: (request: WatchObjectsRequest) => {
      const stream = Object.assign(new EventEmitter(), {
        request,
        cancelled: false,
        cancel: () => {
          stream.cancelled = true;
          stream.emit("error", new Error("cancelled"));
        },
      });
      streams.push(stream);
      return stream;
    },
  } as unknown as Pick<NodeClient, "watchObjects">;
  const objects = new ReferencedObjects(client, "n1", async (kind, namespace, name) => {
    reads.push(`${kind}/${namespace}/${name}`);
    return stored.get(`${kind}/${namespace}/${name}`);
  });
  const open = () => streams.filter((s) => !s.cancelled);
  const streamOf = (name: string) => open().find((s) => s.request.name === name)!;
  const send = (name: string, type: ObjectEvent["type"], objs: KubeObject[]) =>
    streamOf(name).emit("data", {
      type,
      objectsJson: objs.map((o) => Buffer.from(JSON.stringify(o))),
    } as ObjectEvent);
  return { objects, streams, open, streamOf, send, reads, stored };
}

const configMap = (name: string, data: Record<string, string>): KubeObject =>
  ({ apiVersion: "v1", kind: "ConfigMap", metadata: { namespace: "ns", name }, data }) as KubeObject;

const pod = (uid: string, configMaps: string[], secrets: string[] = []): Pod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { namespace: "ns", name: uid, uid },
  spec: {
    containers: [{ name: "c", envFrom: secrets.map((name) => ({ secretRef: { name } })) }],
    volumes: configMaps.map((name) => ({ name, configMap: { name } })),
  },
});

describe("ReferencedObjects", () => {
  it("follows each object a pod names over a stream of its own, from the node's own watch", () => {
    const t = setup();
    t.objects.addPod(pod("a", ["cfg"], ["creds"]));
    expect(t.open().map((s) => s.request)).toEqual([
      { nodeName: "n1", kind: "ConfigMap", namespace: "ns", name: "cfg" },
      { nodeName: "n1", kind: "Secret", namespace: "ns", name: "creds" },
    ]);
  });

  it("reads through NodeService until the stream has sent the object, then answers from its copy", async () => {
    const t = setup();
    t.stored.set("ConfigMap/ns/cfg", configMap("cfg", { k: "read" }));
    t.objects.addPod(pod("a", ["cfg"]));
    expect(await t.objects.get("ConfigMap", "ns", "cfg")).toMatchObject({ data: { k: "read" } });
    expect(t.reads).toEqual(["ConfigMap/ns/cfg"]);

    t.send("cfg", "SYNC", [configMap("cfg", { k: "v1" })]);
    for (let i = 0; i < 5; i++)
      expect(await t.objects.get("ConfigMap", "ns", "cfg")).toMatchObject({ data: { k: "v1" } });
    t.send("cfg", "MODIFIED", [configMap("cfg", { k: "v2" })]);
    expect(await t.objects.get("ConfigMap", "ns", "cfg")).toMatchObject({ data: { k: "v2" } });
    t.send("cfg", "DELETED", [configMap("cfg", { k: "v2" })]);
    expect(await t.objects.get("ConfigMap", "ns", "cfg")).toBeUndefined();
    t.send("cfg", "ADDED", [configMap("cfg", { k: "v3" })]);
    expect(await t.objects.get("ConfigMap", "ns", "cfg")).toMatchObject({ data: { k: "v3" } });
    expect(t.reads).toEqual(["ConfigMap/ns/cfg"]);
  });

  it("answers a missing object as missing once the stream says so, without a read", async () => {
    const t = setup();
    t.objects.addPod(pod("a", ["absent"]));
    t.send("absent", "SYNC", []);
    expect(await t.objects.get("ConfigMap", "ns", "absent")).toBeUndefined();
    expect(t.reads).toEqual([]);
  });

  it("reads through NodeService while a broken stream reconnects, and refusals stay the read's", async () => {
    const t = setup();
    t.objects.addPod(pod("a", ["cfg"]));
    t.send("cfg", "SYNC", [configMap("cfg", { k: "v1" })]);
    t.streamOf("cfg").emit("error", new Error("UNAVAILABLE"));
    t.stored.set("ConfigMap/ns/cfg", configMap("cfg", { k: "newer" }));
    expect(await t.objects.get("ConfigMap", "ns", "cfg")).toMatchObject({ data: { k: "newer" } });
    expect(t.reads).toEqual(["ConfigMap/ns/cfg"]);
    t.objects.stop();
  });

  it("stops following an object when the last pod naming it goes or finishes", () => {
    const t = setup();
    t.objects.addPod(pod("a", ["shared", "only-a"]));
    t.objects.addPod(pod("b", ["shared"]));
    expect(t.objects.size()).toBe(2);
    t.objects.removePod(pod("a", []));
    expect(t.open().map((s) => s.request.name)).toEqual(["shared"]);
    t.objects.addPod({ ...pod("b", ["shared"]), status: { phase: "Succeeded" } });
    expect(t.open()).toEqual([]);
    expect(t.objects.size()).toBe(0);
  });

  it("follows what a changed pod names now, and the node's whole set on a resync", () => {
    const t = setup();
    t.objects.addPod(pod("a", ["old"]));
    t.objects.addPod(pod("a", ["new"]));
    expect(t.open().map((s) => s.request.name)).toEqual(["new"]);
    t.objects.addPod(pod("b", ["b-cfg"]));
    t.objects.setPods([pod("c", ["c-cfg"]), pod("b", ["b-cfg"])]);
    expect(t.open().map((s) => s.request.name)).toEqual(["b-cfg", "c-cfg"]);
    expect(t.streams.filter((s) => s.request.name === "b-cfg")).toHaveLength(1);
  });

  it("reads an object no pod here names through NodeService", async () => {
    const t = setup();
    t.stored.set("Secret/ns/other", {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { namespace: "ns", name: "other" },
    });
    expect(await t.objects.get("Secret", "ns", "other")).toMatchObject({ metadata: { name: "other" } });
    expect(t.reads).toEqual(["Secret/ns/other"]);
    expect(t.streams).toEqual([]);
  });
});
