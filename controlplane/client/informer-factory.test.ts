import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeObject } from "../../foundation/api/object.js";
import { resourceForKind } from "../../foundation/api/resources.js";
import type { Store } from "../store/index.js";
import { startTestStore, type TestStore } from "../testing/test-store.js";
import { byNodeNameIndex } from "./index.js";
import { InformerFactory } from "./informer-factory.js";

const pods = resourceForKind("v1", "Pod")!;

function pod(name: string, nodeName?: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", uid: `uid-${name}` },
    spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: "c", image: "busybox" }] },
  };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}

describe("InformerFactory over a real etcd", () => {
  let test: TestStore;
  let store: Store;
  beforeAll(async () => {
    test = await startTestStore();
    store = test.store;
  });
  afterAll(() => test?.stop());

  it("shares one informer per resource, lists existing objects and follows changes with indexes", async () => {
    await store.create(pods, pod("a", "node1"));
    const factory = new InformerFactory(store);
    try {
      const informer = factory.pods();
      expect(factory.informer(pods)).toBe(informer);
      factory.start();
      await factory.waitForSync();
      expect(informer.lister.get("default/a")?.spec?.nodeName).toBe("node1");

      await store.create(pods, pod("b", "node2"));
      await until(() => informer.lister.byIndex(byNodeNameIndex, "node2").length === 1);

      await store.delete(pods, "default", "a");
      await until(() => informer.lister.get("default/a") === undefined);
    } finally {
      factory.stop();
    }
  });
});
