import { describe, expect, it } from "vitest";
import { deepFreeze } from "../../foundation/api/readonly.js";
import type { Pod } from "../../proto/gen/api.js";
import { byOwnerUid, podsByNodeName } from "./indexers.js";
import { ObjectCache } from "./object-cache.js";

const pod = (name: string, nodeName?: string, owners: string[] = []): Pod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name,
    namespace: "default",
    ownerReferences: owners.map((uid) => ({ apiVersion: "apps/v1", kind: "ReplicaSet", name: uid, uid })),
  },
  spec: nodeName ? { nodeName } : {},
});

describe("indexers", () => {
  it("file pods by node and by owner, and move them when they change", () => {
    const cache = new ObjectCache<Pod>({ byNodeName: podsByNodeName, byOwnerUid });
    cache.put(deepFreeze(pod("a", "n1", ["rs1"])));
    cache.put(deepFreeze(pod("b", undefined, ["rs1", "rs2"])));
    cache.put(deepFreeze(pod("c", "n1")));
    expect(cache.byIndex("byNodeName", "n1").map((p) => p.metadata.name)).toEqual(["a", "c"]);
    expect(cache.byIndex("byOwnerUid", "rs1").map((p) => p.metadata.name)).toEqual(["a", "b"]);
    cache.put(deepFreeze(pod("a", "n2", [])));
    expect(cache.byIndex("byNodeName", "n1").map((p) => p.metadata.name)).toEqual(["c"]);
    expect(cache.byIndex("byOwnerUid", "rs1").map((p) => p.metadata.name)).toEqual(["b"]);
    cache.remove("default/b");
    expect(cache.byIndex("byOwnerUid", "rs2")).toEqual([]);
  });
});
