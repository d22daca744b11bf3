import type { Etcd3 } from "etcd3";
import { Registry as MetricsRegistry } from "prom-client";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isApiError } from "../../foundation/api/errors.js";
import { parseSelector } from "../../foundation/api/labels.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { resourceForPlural } from "../../foundation/api/resources.js";
import type { WatchEvent } from "../../foundation/api/watch.js";
import { startTestStore, type TestStore } from "../testing/test-store.js";
import { Store, type WatchHandle } from "./store.js";

const pods = resourceForPlural("", "pods")!;

function pod(name: string, labels: Record<string, string> = {}, ns = "default"): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns, labels },
    spec: { containers: [{ name: "c", image: "busybox" }] },
  };
}

/** Events of one watch as "TYPE name" lines; `take(n)` waits for n more. */
class Seen {
  readonly events: WatchEvent<KubeObject>[] = [];
  private taken = 0;
  onEvent = (e: WatchEvent<KubeObject>): void => {
    this.events.push(e);
  };
  async take(n: number): Promise<string[]> {
    const deadline = Date.now() + 5000;
    while (this.events.length < this.taken + n) {
      if (Date.now() > deadline) throw new Error(`only ${this.events.length - this.taken} of ${n} events`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const out = this.events.slice(this.taken, this.taken + n);
    this.taken += n;
    return out.map((e) => `${e.type} ${e.object.metadata.name}`);
  }
}

const labelsOf = (obj: KubeObject) => obj.metadata.labels;

describe("Store watches through the watch cache (real etcd)", () => {
  let etcd: TestStore;
  let client: Etcd3;
  let store: Store;
  const handles: WatchHandle[] = [];

  beforeAll(async () => {
    etcd = await startTestStore();
    client = etcd.client;
  });

  beforeEach(() => {
    store = new Store({
      client,
      metrics: new MetricsRegistry(),
      watchCache: { historyLimit: 3, historyMs: 60_000 },
    });
  });

  afterEach(async () => {
    for (const h of handles.splice(0)) h.close();
    store.close();
    await client.delete().prefix("/registry/");
  });

  afterAll(async () => {
    await etcd?.stop();
  });

  const watch = async (
    resourceVersion: string,
    extra: { labelSelector?: string; namespace?: string } = {},
  ) => {
    const seen = new Seen();
    const errors: unknown[] = [];
    handles.push(
      await store.watch(
        pods,
        {
          resourceVersion,
          ...(extra.namespace ? { namespace: extra.namespace } : {}),
          ...(extra.labelSelector ? { labelSelector: parseSelector(extra.labelSelector) } : {}),
        },
        seen.onEvent,
        (err) => errors.push(err),
      ),
    );
    return { seen, errors };
  };

  it("tells additions, changes and deletions apart without etcd's previous values, deletions carrying the last state", async () => {
    const start = await store.currentRevision();
    const { seen, errors } = await watch(start);
    const a = await store.create(pods, pod("a", { v: "1" }));
    const a2 = await store.update(pods, { ...a, metadata: { ...a.metadata, labels: { v: "2" } } });
    await store.delete(pods, "default", "a");
    expect(await seen.take(3)).toEqual(["ADDED a", "MODIFIED a", "DELETED a"]);
    const deleted = seen.events[2]!.object;
    expect(labelsOf(deleted)).toEqual({ v: "2" });
    expect(Number(deleted.metadata.resourceVersion)).toBeGreaterThan(Number(a2.metadata.resourceVersion));
    // Watchers share the objects, so they are frozen.
    expect(Object.isFrozen(seen.events[0]!.object.metadata)).toBe(true);
    expect(errors).toEqual([]);
  });

  it("gives each watch its own selection: label transitions, namespaces, and the events after its revision", async () => {
    const start = await store.currentRevision();
    const all = await watch(start);
    const web = await watch(start, { labelSelector: "app=web" });
    const other = await watch(start, { namespace: "other" });
    const a = await store.create(pods, pod("a", { app: "web" }));
    await store.update(pods, { ...a, metadata: { ...a.metadata, labels: { app: "db" } } });
    const b = await store.create(pods, pod("b", {}, "other"));
    expect(await all.seen.take(3)).toEqual(["ADDED a", "MODIFIED a", "ADDED b"]);
    // Leaving the selection is a DELETED carrying the new state.
    expect(await web.seen.take(2)).toEqual(["ADDED a", "DELETED a"]);
    expect(labelsOf(web.seen.events[1]!.object)).toEqual({ app: "db" });
    expect(await other.seen.take(1)).toEqual(["ADDED b"]);
    // A watch from b's revision replays nothing before it, then follows.
    const late = await watch(b.metadata.resourceVersion!);
    await store.delete(pods, "other", "b");
    expect(await late.seen.take(1)).toEqual(["DELETED b"]);
  });

  it("replays recent history to a watch from an earlier revision, even past a compaction, and sends older ones to etcd", async () => {
    const start = await store.currentRevision();
    const { seen } = await watch(start);
    const revisions: string[] = [];
    let current = await store.create(pods, pod("a", { n: "0" }));
    revisions.push(current.metadata.resourceVersion!);
    for (let i = 1; i <= 4; i++) {
      current = await store.update(pods, {
        ...current,
        metadata: { ...current.metadata, labels: { n: `${i}` } },
      });
      revisions.push(current.metadata.resourceVersion!);
    }
    await seen.take(5);
    await client.kv.compact({ revision: revisions[3]!, physical: true });

    // The cache remembers the last three changes (n=2, 3, 4): a watch from n=1's revision gets
    // them from memory although etcd compacted that revision away.
    const resumed = await watch(revisions[1]!);
    await resumed.seen.take(3);
    expect(resumed.seen.events.map((e) => labelsOf(e.object))).toEqual([{ n: "2" }, { n: "3" }, { n: "4" }]);

    // From n=0's revision the cache cannot tell what happened (n=1 is forgotten): etcd decides,
    // and it compacted that revision.
    const err = await store
      .watch(
        pods,
        { resourceVersion: revisions[0]! },
        () => {},
        () => {},
      )
      .catch((e: unknown) => e);
    expect(isApiError(err, "Gone")).toBe(true);
  });

  it("starts again for a watch that was waiting to join when the last one closed", async () => {
    const start = await store.currentRevision();
    const first = await watch(start);
    const seen = new Seen();
    const joining = store.watch(pods, { resourceVersion: start }, seen.onEvent, () => {});
    for (const h of handles.splice(0)) h.close();
    handles.push(await joining);
    await store.create(pods, pod("a"));
    expect(await seen.take(1)).toEqual(["ADDED a"]);
    expect(first.seen.events).toEqual([]);
  });

  it("forgets what it learnt when a watch closes it from inside an event", async () => {
    const start = await store.currentRevision();
    const seen = new Seen();
    let handle: WatchHandle | undefined;
    handle = await store.watch(
      pods,
      { resourceVersion: start },
      (e) => {
        seen.onEvent(e);
        handle?.close();
      },
      () => {},
    );
    // Both pods in one etcd transaction: one watch response carrying two events.
    await client.kv.txn({
      success: ["a", "b"].map((name) => ({
        request_put: {
          key: Buffer.from(`/registry/pods/default/${name}`),
          value: Buffer.from(JSON.stringify(pod(name))),
        },
      })),
    });
    const [first] = await seen.take(1);
    // The other pod's event came after the close, in the same response: the cache must not keep it.
    const other = first === "ADDED a" ? "b" : "a";
    await store.delete(pods, "default", other);
    const next = await watch(await store.currentRevision());
    await store.create(pods, pod(other));
    expect(await next.seen.take(1)).toEqual([`ADDED ${other}`]);
  });

  it("refuses watches once the store is closed, also one that was waiting for the cache to start", async () => {
    const starting = store.watch(
      pods,
      { resourceVersion: await store.currentRevision() },
      () => {},
      () => {},
    );
    store.close();
    await expect(starting).rejects.toThrow(/the store is closed/);
    await expect(
      store.watch(
        pods,
        {},
        () => {},
        () => {},
      ),
    ).rejects.toThrow(/the store is closed/);
  });

  it("lets go of its etcd watch when the last watch closes and starts again for the next", async () => {
    const first = await watch(await store.currentRevision());
    const a = await store.create(pods, pod("a"));
    expect(await first.seen.take(1)).toEqual(["ADDED a"]);
    for (const h of handles.splice(0)) h.close();
    await store.delete(pods, "default", "a");
    const second = await watch(a.metadata.resourceVersion!);
    await store.create(pods, pod("b"));
    expect(await second.seen.take(2)).toEqual(["DELETED a", "ADDED b"]);
  });

  it("moves a quiet resource's revision on with etcd's progress notifications, so its bookmarks stay current", {
    timeout: 20_000,
  }, async () => {
    const configmaps = resourceForPlural("", "configmaps")!;
    const seen = new Seen();
    handles.push(
      await store.watch(
        configmaps,
        { resourceVersion: await store.currentRevision(), bookmarkIntervalMs: 200 },
        seen.onEvent,
        () => {},
      ),
    );
    // Only pods change; the config maps' watch sees no event of its own.
    const last = await store.create(pods, pod("elsewhere"));
    const target = Number(last.metadata.resourceVersion);
    const deadline = Date.now() + 15_000;
    const current = () =>
      seen.events.some((e) => e.type === "BOOKMARK" && Number(e.object.metadata.resourceVersion) >= target);
    while (!current() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(current()).toBe(true);
  });
});
