/**
 * The informer against the real store on a real etcd: the ListerWatcher contract as the store
 * implements it (async watch handles, Gone on a compacted revision). Dropping the stream is the
 * only thing the test does by hand, through the onError callback the store would call.
 */
import { Etcd3 } from "etcd3";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeObject } from "../../foundation/api/object.js";
import { resourceForPlural } from "../../foundation/api/resources.js";
import type { WatchEvent } from "../../foundation/api/watch.js";
import type { Pod } from "../../proto/gen/api.js";
import { Store } from "../store/store.js";
import { type EtcdServer, startEtcd } from "../testing/etcd-server.js";
import { ListWatchInformer } from "./informer.js";
import type { ListerWatcher } from "./lister-watcher.js";

const pods = resourceForPlural("", "pods")!;
let etcd: EtcdServer;
let client: Etcd3;
let store: Store;

beforeAll(async () => {
  etcd = await startEtcd();
  client = new Etcd3({ hosts: etcd.endpoint });
  // Without a watch cache, so that a watch from a compacted revision meets etcd's Gone (a cache would
  // replay its recent history instead) and the relist path is what gets tested.
  store = new Store({ client, metrics: new Registry(), watchCache: false });
});

afterAll(async () => {
  store?.close();
  client?.close();
  await etcd?.stop();
});

const pod = (name: string, nodeName?: string): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default" },
  spec: { containers: [{ name: "c", image: "busybox" }], ...(nodeName && { nodeName }) },
});

/** The store as a ListerWatcher of Pods; `drop()` ends the current stream as a network error would. */
function podsListerWatcher() {
  let failCurrent: ((err: Error) => void) | undefined;
  const lw: ListerWatcher<Pod> = {
    list: async () => {
      const list = await store.list(pods);
      return { items: list.items as unknown as Pod[], resourceVersion: list.resourceVersion };
    },
    watch: (rv, onEvent, onError) => {
      failCurrent = onError;
      return store.watch(
        pods,
        { resourceVersion: rv },
        onEvent as (e: WatchEvent<KubeObject>) => void,
        onError,
      );
    },
  };
  return { lw, drop: (err: Error) => failCurrent?.(err) };
}

async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("Informer over the store (real etcd)", () => {
  it("lists, follows changes, resumes after a dropped stream and relists after compaction", async () => {
    await store.create(pods, pod("a"));
    const { lw, drop } = podsListerWatcher();
    const informer = new ListWatchInformer<Pod>(lw, {
      name: "pods",
      retryBaseMs: 10,
      indexers: { byNode: (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []) },
    });
    const log: string[] = [];
    informer.addEventHandler({
      onAdd: (p) => log.push(`add ${p.metadata.name}`),
      onUpdate: (o, p) => {
        if (o.metadata.resourceVersion !== p.metadata.resourceVersion) log.push(`update ${p.metadata.name}`);
      },
      onDelete: (p) => log.push(`delete ${p.metadata.name}`),
    });
    informer.start();
    try {
      await informer.waitForSync();
      expect(log).toEqual(["add a"]);

      const b = await store.create(pods, pod("b"));
      await store.update(pods, { ...b, spec: { ...(b.spec as object), nodeName: "n1" } });
      await until(() => informer.lister.byIndex("byNode", "n1").length === 1);
      expect(log).toEqual(["add a", "add b", "update b"]);

      // A dropped stream resumes from the last revision seen: nothing made meanwhile is lost.
      drop(new Error("connection reset"));
      await store.create(pods, pod("c"));
      await until(() => informer.lister.get("default/c") !== undefined);

      // Stop the stream, change things, compact past the informer's revision: the resume gets
      // Gone, the informer relists and reports the difference.
      const gap = podsListerWatcher();
      let paused = true;
      let failPaused: ((err: Error) => void) | undefined;
      const pausedLw: ListerWatcher<Pod> = {
        list: gap.lw.list,
        watch: (rv, onEvent, onError) => {
          if (!paused) return gap.lw.watch(rv, onEvent, onError);
          failPaused = onError;
          return { close() {} };
        },
      };
      const second = new ListWatchInformer<Pod>(pausedLw, { name: "pods-2", retryBaseMs: 10 });
      const log2: string[] = [];
      second.addEventHandler({
        onAdd: (p) => log2.push(`add ${p.metadata.name}`),
        onDelete: (p) => log2.push(`delete ${p.metadata.name}`),
      });
      second.start();
      await second.waitForSync();
      expect(log2.sort()).toEqual(["add a", "add b", "add c"]);
      await store.delete(pods, "default", "a");
      const d = await store.create(pods, pod("d"));
      await client.kv.compact({ revision: d.metadata.resourceVersion!, physical: true });
      expect(Number(second.resourceVersion)).toBeLessThan(Number(d.metadata.resourceVersion));
      paused = false;
      failPaused?.(new Error("reconnect"));
      await until(() => second.lister.get("default/d") !== undefined && !second.lister.get("default/a"));
      expect(log2.slice(3)).toEqual(["add d", "delete a"]);
      second.stop();

      // The first informer, still watching, saw the same changes as events.
      await until(() => informer.lister.size() === 3);
      expect(log.slice(-2)).toEqual(["delete a", "add d"]);
    } finally {
      informer.stop();
    }
  });
});
