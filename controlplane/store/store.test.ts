import { Etcd3 } from "etcd3";
import { Registry as MetricsRegistry } from "prom-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type ApiError, isApiError } from "../../foundation/api/errors.js";
import { parseSelector } from "../../foundation/api/labels.js";
import { type KubeObject, maxObjectBytes } from "../../foundation/api/object.js";
import { resourceForPlural } from "../../foundation/api/resources.js";
import type { WatchEvent } from "../../foundation/api/watch.js";
import { FakeClock } from "../../foundation/util/clock.js";
import { type EtcdServer, startEtcd } from "../testing/etcd-server.js";
import { parseFieldSelector } from "./field-selector.js";
import { objectKeyPath } from "./keys.js";
import { Store, type WatchHandle } from "./store.js";

const pods = resourceForPlural("", "pods")!;
const nodes = resourceForPlural("", "nodes")!;
const deployments = resourceForPlural("apps", "deployments")!;

function pod(
  name: string,
  extra: { ns?: string; labels?: Record<string, string>; nodeName?: string } = {},
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: extra.ns ?? "default", uid: `uid-${name}`, labels: extra.labels ?? {} },
    spec: {
      containers: [{ name: "c", image: "busybox" }],
      ...(extra.nodeName ? { nodeName: extra.nodeName } : {}),
    },
  };
}

/** Collects watch events; `next()` waits for the next one. */
class Events {
  readonly events: WatchEvent<KubeObject>[] = [];
  readonly errors: ApiError[] = [];
  private waiters: (() => void)[] = [];
  private taken = 0;
  onEvent = (e: WatchEvent<KubeObject>): void => {
    this.events.push(e);
    for (const w of this.waiters.splice(0)) w();
  };
  onError = (e: ApiError): void => {
    this.errors.push(e);
    for (const w of this.waiters.splice(0)) w();
  };
  async next(): Promise<WatchEvent<KubeObject>> {
    const deadline = Date.now() + 5000;
    while (this.events.length <= this.taken) {
      if (Date.now() > deadline)
        throw new Error(`no event after ${JSON.stringify(this.events.map((e) => e.type))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    return this.events[this.taken++]!;
  }
  async error(): Promise<ApiError> {
    const deadline = Date.now() + 5000;
    while (this.errors.length === 0) {
      if (Date.now() > deadline) throw new Error("no error");
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.errors[0]!;
  }
}

describe("Store over a real etcd", () => {
  let etcd: EtcdServer;
  let client: Etcd3;
  let store: Store;
  let metrics: MetricsRegistry;
  const handles: WatchHandle[] = [];

  beforeAll(async () => {
    etcd = await startEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
    metrics = new MetricsRegistry();
    store = new Store({ client, metrics });
  });

  afterAll(async () => {
    store?.close();
    client?.close();
    await etcd?.stop();
  });

  beforeEach(async () => {
    for (const h of handles.splice(0)) h.close();
    await client.delete().prefix("/registry/");
  });

  describe("paged lists (limit and continue)", () => {
    const names = (items: KubeObject[]) => items.map((o) => o.metadata.name);

    it("pages through one snapshot: objects written between pages do not appear", async () => {
      for (const n of ["a", "b", "c", "d", "e"]) await store.create(pods, pod(n));
      await store.create(pods, pod("z", { ns: "other" }));
      const first = await store.list(pods, { namespace: "default" }, { limit: 2 });
      expect(names(first.items)).toEqual(["a", "b"]);
      expect(first.remainingItemCount).toBe(3);
      await store.create(pods, pod("bb"));
      await store.delete(pods, "default", "d");
      const second = await store.list(
        pods,
        { namespace: "default" },
        { limit: 2, continue: first.continue! },
      );
      expect(names(second.items)).toEqual(["c", "d"]);
      expect(second.resourceVersion).toBe(first.resourceVersion);
      const rest = await store.list(pods, { namespace: "default" }, { limit: 0, continue: second.continue! });
      expect(names(rest.items)).toEqual(["e"]);
      expect(rest.continue).toBeUndefined();
      const all = await store.list(pods, {}, { limit: 10 });
      expect(names(all.items)).toEqual(["a", "b", "bb", "c", "e", "z"]);
      expect(all.continue).toBeUndefined();
    });

    it("fills a page despite a selector, and gives no remaining count then", async () => {
      for (const n of ["a", "b", "c", "d", "e"]) {
        await store.create(pods, pod(n, { labels: { keep: n === "b" || n === "e" ? "no" : "yes" } }));
      }
      const labelSelector = parseSelector("keep=yes");
      const first = await store.list(pods, { labelSelector }, { limit: 2 });
      expect(names(first.items)).toEqual(["a", "c"]);
      expect(first.remainingItemCount).toBeUndefined();
      const second = await store.list(pods, { labelSelector }, { limit: 2, continue: first.continue! });
      expect(names(second.items)).toEqual(["d"]);
      expect(second.continue).toBeUndefined();
    });

    it("refuses tokens it did not make, or that would leave the list, naming why", async () => {
      const token = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
      for (const [bad, why] of [
        ["%%%", /not base64-encoded JSON/],
        [token({ v: "x", rv: 1, start: "a" }), /version "x"/],
        [token({ v: "meta.k8s.io/v1", rv: 0, start: "a" }), /rv is not a positive revision/],
        [token({ v: "meta.k8s.io/v1", rv: 5, start: "../secrets/kube-system/x" }), /outside the list/],
        [token({ v: "meta.k8s.io/v1", rv: 5, start: "/registry/secrets/" }), /outside the list/],
      ] as const) {
        const err = (await store
          .list(pods, {}, { limit: 1, continue: bad })
          .catch((e: unknown) => e)) as ApiError;
        expect(err.reason, bad).toBe("BadRequest");
        expect(err.message).toMatch(/^continue key is not valid: /);
        expect(err.message).toMatch(why);
      }
    });

    it("answers 410 with upstream's message when the token's revision was compacted", async () => {
      for (const n of ["a", "b", "c"]) await store.create(pods, pod(n));
      const first = await store.list(pods, {}, { limit: 1 });
      const later = await store.create(pods, pod("d"));
      await client.kv.compact({ revision: later.metadata.resourceVersion!, physical: true });
      const err = (await store
        .list(pods, {}, { limit: 1, continue: first.continue! })
        .catch((e: unknown) => e)) as ApiError;
      expect(err.reason).toBe("Gone");
      expect(err.message).toMatch(
        /^The provided continue parameter is too old to display a consistent list result\./,
      );
    });
  });

  it("lays keys out by group-qualified plural, namespace and name", () => {
    expect(objectKeyPath(pods, "default", "web")).toBe("/registry/pods/default/web");
    expect(objectKeyPath(deployments, "ns1", "web")).toBe("/registry/deployments.apps/ns1/web");
    expect(objectKeyPath(nodes, undefined, "n1")).toBe("/registry/nodes/n1");
    expect(() => objectKeyPath(pods, undefined, "x")).toThrow(/namespace is required/);
    expect(() => objectKeyPath(pods, "default", "a/b")).toThrow(/invalid name/);
  });

  it("creates once, reads back with resourceVersion = mod revision, refuses duplicates", async () => {
    const created = await store.create(pods, pod("a"));
    expect(created.metadata.resourceVersion).toMatch(/^\d+$/);
    const raw = await client.get("/registry/pods/default/a").string();
    expect(JSON.parse(raw!).metadata.resourceVersion).toBeUndefined();
    const got = await store.get(pods, "default", "a");
    expect(got).toEqual(created);
    const dup = await store.create(pods, pod("a")).catch((e: unknown) => e);
    expect(isApiError(dup, "AlreadyExists")).toBe(true);
    expect((dup as ApiError).code).toBe(409);
    const missing = await store.get(pods, "default", "zz").catch((e: unknown) => e);
    expect(isApiError(missing, "NotFound")).toBe(true);
    expect((missing as Error).message).toBe('Pod "zz" not found');
  });

  it("lists one namespace without its prefix-neighbours, with label and field selectors", async () => {
    await store.create(pods, pod("a", { labels: { app: "web" }, nodeName: "n1" }));
    await store.create(pods, pod("b", { labels: { app: "db" } }));
    await store.create(pods, pod("c", { ns: "default2", labels: { app: "web" }, nodeName: "n2" }));
    const names = (l: { items: KubeObject[] }): string[] => l.items.map((o) => o.metadata.name!);
    expect(names(await store.list(pods, { namespace: "default" }))).toEqual(["a", "b"]);
    expect(names(await store.list(pods))).toEqual(["a", "b", "c"]);
    expect(names(await store.list(pods, { labelSelector: parseSelector("app=web") }))).toEqual(["a", "c"]);
    expect(
      names(await store.list(pods, { fieldSelector: parseFieldSelector("spec.nodeName=", pods) })),
    ).toEqual(["b"]);
    expect(
      names(
        await store.list(pods, {
          fieldSelector: parseFieldSelector("spec.nodeName=n2,metadata.namespace=default2", pods),
        }),
      ),
    ).toEqual(["c"]);
    expect(
      names(await store.list(pods, { fieldSelector: parseFieldSelector("spec.nodeName!=n1", pods) })),
    ).toEqual(["b", "c"]);
    const list = await store.list(pods);
    expect(Number(list.resourceVersion)).toBeGreaterThanOrEqual(
      Number(list.items[2]!.metadata.resourceVersion),
    );
    expect(() => parseFieldSelector("spec.image=x", pods)).toThrow(/not a known field selector for pods/);
    expect(() => parseFieldSelector("justaword", pods)).toThrow(/must look like field=value/);
  });

  it("lists more objects than one range page", async () => {
    await Promise.all(
      Array.from({ length: 1100 }, (_, i) => store.create(pods, pod(`p${String(i).padStart(4, "0")}`))),
    );
    const list = await store.list(pods);
    expect(list.items).toHaveLength(1100);
    expect(list.items[1099]!.metadata.name).toBe("p1099");
  });

  it("updates only from the current resourceVersion (409 otherwise)", async () => {
    const v1 = await store.create(pods, pod("a"));
    const v2 = await store.update(pods, { ...v1, metadata: { ...v1.metadata, labels: { x: "1" } } });
    expect(Number(v2.metadata.resourceVersion)).toBeGreaterThan(Number(v1.metadata.resourceVersion));
    const stale = await store
      .update(pods, { ...v1, metadata: { ...v1.metadata, labels: { x: "2" } } })
      .catch((e) => e);
    expect(isApiError(stale, "Conflict")).toBe(true);
    expect(stale.message).toContain("the object has been modified");
    expect((await store.get(pods, "default", "a")).metadata.labels).toEqual({ x: "1" });
    const gone = await store
      .update(pods, { ...pod("nope"), metadata: { ...pod("nope").metadata, resourceVersion: "5" } })
      .catch((e) => e);
    expect(isApiError(gone, "NotFound")).toBe(true);
  });

  it("guaranteedUpdate retries concurrent writers so none is lost, and skips no-op writes", async () => {
    await store.create(pods, {
      ...pod("counter"),
      metadata: { ...pod("counter").metadata, annotations: { n: "0" } },
    });
    await Promise.all(
      Array.from({ length: 10 }, () =>
        store.guaranteedUpdate(pods, "default", "counter", (cur) => {
          const n = Number(cur.metadata.annotations!.n) + 1;
          return { ...cur, metadata: { ...cur.metadata, annotations: { n: String(n) } } };
        }),
      ),
    );
    const after = await store.get(pods, "default", "counter");
    expect(after.metadata.annotations).toEqual({ n: "10" });
    const same = await store.guaranteedUpdate(pods, "default", "counter", (cur) => cur);
    expect(same.metadata.resourceVersion).toBe(after.metadata.resourceVersion);
  });

  it("guaranteedUpdate starts from a cached copy: one write when current, the fresh object when stale", async () => {
    const created = await store.create(pods, pod("cached"));
    const label = (v: string) => (cur: KubeObject) => ({
      ...cur,
      metadata: { ...cur.metadata, labels: { v } },
    });
    const first = await store.guaranteedUpdate(pods, "default", "cached", label("1"), { cached: created });
    expect(first.metadata.labels).toEqual({ v: "1" });
    // `created` is stale now: the failed compare hands back the stored object and the update lands on it.
    const seen: (string | undefined)[] = [];
    const second = await store.guaranteedUpdate(
      pods,
      "default",
      "cached",
      (cur) => {
        seen.push(cur.metadata.labels?.v);
        return label("2")(cur);
      },
      { cached: created },
    );
    expect(seen).toEqual([undefined, "1"]);
    expect(second.metadata.labels).toEqual({ v: "2" });
    expect((await store.get(pods, "default", "cached")).metadata.resourceVersion).toBe(
      second.metadata.resourceVersion,
    );
    // An error computed from a stale copy is checked against the stored object before it counts.
    const refuseUnlabelled = (cur: KubeObject) => {
      if (!cur.metadata.labels?.v) throw new Error("unlabelled");
      return label("3")(cur);
    };
    const third = await store.guaranteedUpdate(pods, "default", "cached", refuseUnlabelled, {
      cached: created,
    });
    expect(third.metadata.labels).toEqual({ v: "3" });
  });

  it("creates and updates many objects at once, each answered as if alone", async () => {
    await store.create(pods, pod("busy"));
    const stale = (await store.get(pods, "default", "busy")).metadata.resourceVersion!;
    await store.update(pods, {
      ...pod("busy", { labels: { moved: "on" } }),
      metadata: { ...pod("busy").metadata, resourceVersion: stale },
    });
    const results = await Promise.allSettled([
      ...Array.from({ length: 40 }, (_, i) => store.create(pods, pod(`many-${i}`))),
      store.create(pods, pod("many-3")),
      store.update(pods, { ...pod("busy"), metadata: { ...pod("busy").metadata, resourceVersion: stale } }),
    ]);
    const errors = results.map((r) => (r.status === "rejected" ? (r.reason as ApiError).reason : "ok"));
    // Of the two concurrent creates of many-3 exactly one wins; which one depends on batching.
    expect([...errors.slice(0, 41)].sort().slice(0, 2)).toEqual(["AlreadyExists", "ok"]);
    expect(errors.filter((e) => e === "ok")).toHaveLength(40);
    expect(errors[41]).toBe("Conflict");
    expect(
      (await store.list(pods, { namespace: "default" })).items.filter((p) =>
        p.metadata.name?.startsWith("many-"),
      ),
    ).toHaveLength(40);
  });

  it("deletes with uid and resourceVersion preconditions and returns the last state", async () => {
    const created = await store.create(pods, pod("a"));
    const badUid = await store.delete(pods, "default", "a", { uid: "other" }).catch((e) => e);
    expect(isApiError(badUid, "Conflict")).toBe(true);
    expect(badUid.message).toContain("UID in precondition: other");
    const badRv = await store.delete(pods, "default", "a", { resourceVersion: "1" }).catch((e) => e);
    expect(isApiError(badRv, "Conflict")).toBe(true);
    const last = await store.delete(pods, "default", "a", {
      uid: "uid-a",
      resourceVersion: created.metadata.resourceVersion!,
    });
    expect(last.metadata.name).toBe("a");
    expect(Number(last.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));
    expect(isApiError(await store.get(pods, "default", "a").catch((e) => e), "NotFound")).toBe(true);
    expect(isApiError(await store.delete(pods, "default", "a").catch((e) => e), "NotFound")).toBe(true);
  });

  it("attaches objects created with a ttl to an etcd lease that updates keep", async () => {
    const created = await store.create(pods, pod("short"), { ttlSeconds: 60 });
    const lease = (await client.kv.range({ key: Buffer.from("/registry/pods/default/short") })).kvs[0]!.lease;
    expect(lease).not.toBe("0");
    await store.update(pods, { ...created, metadata: { ...created.metadata, labels: { v: "2" } } });
    const after = (await client.kv.range({ key: Buffer.from("/registry/pods/default/short") })).kvs[0]!;
    expect(after.lease).toBe(lease);
    const ttl = await client.leaseClient.leaseTimeToLive({ ID: lease });
    expect(Number(ttl.TTL)).toBeGreaterThan(50);
    await client.leaseClient.leaseRevoke({ ID: lease });
    expect(isApiError(await store.get(pods, "default", "short").catch((e) => e), "NotFound")).toBe(true);
    const plain = await store.create(pods, pod("long"));
    expect((await client.kv.range({ key: Buffer.from("/registry/pods/default/long") })).kvs[0]!.lease).toBe(
      "0",
    );
    expect(plain.metadata.name).toBe("long");
  });

  it("refuses objects over 1.5 MiB with 413 and writes nothing", async () => {
    const big = {
      ...pod("big"),
      metadata: { ...pod("big").metadata, annotations: { blob: "x".repeat(1.6 * 1024 * 1024) } },
    };
    const err = await store.create(pods, big).catch((e) => e);
    expect(isApiError(err, "RequestEntityTooLarge")).toBe(true);
    expect(err.code).toBe(413);
    expect(err.message).toMatch(
      /Pod "big" is too large to store: \d+ bytes, the limit is 1568768 bytes \(1.5 MiB, less 4 KiB/,
    );
    expect(await client.get("/registry/pods/default/big").string()).toBeNull();
  });

  it("stores an object of exactly the largest size, which etcd takes with its key and framing", async () => {
    const name = `${"n".repeat(200)}-largest`;
    const base = { ...pod(name), metadata: { ...pod(name).metadata, annotations: { blob: "" } } };
    const blob = "x".repeat(maxObjectBytes - Buffer.byteLength(JSON.stringify(base)));
    const largest = { ...base, metadata: { ...base.metadata, annotations: { blob } } };
    expect(Buffer.byteLength(JSON.stringify(largest))).toBe(maxObjectBytes);
    const created = await store.create(pods, largest);
    const grown = { ...created, metadata: { ...created.metadata, annotations: { blob: `${blob}y` } } };
    expect(isApiError(await store.update(pods, grown).catch((e) => e), "RequestEntityTooLarge")).toBe(true);
  });

  it("watches ADDED, MODIFIED and DELETED (with the last state) and resumes from a resourceVersion", async () => {
    const start = await store.currentRevision();
    const ev = new Events();
    handles.push(
      await store.watch(pods, { namespace: "default", resourceVersion: start }, ev.onEvent, ev.onError),
    );
    const a1 = await store.create(pods, pod("a"));
    await store.create(pods, pod("other-ns", { ns: "kube-system" }));
    const a2 = await store.update(pods, { ...a1, metadata: { ...a1.metadata, labels: { v: "2" } } });
    const del = await store.delete(pods, "default", "a");
    expect(await ev.next()).toEqual({ type: "ADDED", object: a1 });
    expect(await ev.next()).toEqual({ type: "MODIFIED", object: a2 });
    const deleted = await ev.next();
    expect(deleted.type).toBe("DELETED");
    expect(deleted.object.metadata.labels).toEqual({ v: "2" });
    expect(deleted.object.metadata.resourceVersion).toBe(del.metadata.resourceVersion);

    // Resume after the ADDED event: only the later two arrive.
    const resumed = new Events();
    handles.push(
      await store.watch(
        pods,
        { namespace: "default", resourceVersion: a1.metadata.resourceVersion! },
        resumed.onEvent,
        resumed.onError,
      ),
    );
    expect((await resumed.next()).type).toBe("MODIFIED");
    expect((await resumed.next()).type).toBe("DELETED");
  });

  it("starts with the current state as ADDED when no resourceVersion is given", async () => {
    await store.create(pods, pod("x"));
    await store.create(pods, pod("y"));
    const ev = new Events();
    handles.push(await store.watch(pods, {}, ev.onEvent, ev.onError));
    await store.create(pods, pod("z"));
    expect((await ev.next()).object.metadata.name).toBe("x");
    expect((await ev.next()).object.metadata.name).toBe("y");
    const z = await ev.next();
    expect([z.type, z.object.metadata.name]).toEqual(["ADDED", "z"]);
  });

  it("turns selector transitions into ADDED and DELETED", async () => {
    const ev = new Events();
    handles.push(
      await store.watch(
        pods,
        {
          labelSelector: parseSelector("app=web"),
          fieldSelector: parseFieldSelector("spec.nodeName=", pods),
        },
        ev.onEvent,
        ev.onError,
      ),
    );
    const p = await store.create(pods, pod("p", { labels: { app: "other" } }));
    const matching = await store.update(pods, { ...p, metadata: { ...p.metadata, labels: { app: "web" } } });
    const bound = await store.update(pods, {
      ...matching,
      spec: { ...(matching.spec as object), nodeName: "n1" },
    });
    await store.delete(pods, "default", "p");
    await store.create(pods, pod("q", { labels: { app: "web" } }));
    expect(await ev.next()).toEqual({ type: "ADDED", object: matching });
    expect(await ev.next()).toEqual({ type: "DELETED", object: bound });
    const q = await ev.next();
    expect([q.type, q.object.metadata.name]).toEqual(["ADDED", "q"]);
  });

  it("without a watch cache, answers a compacted resourceVersion with 410 Gone, before and during a watch", async () => {
    // Every watch is its own etcd watch here, so etcd's compaction is what decides.
    const direct = new Store({ client, metrics: new MetricsRegistry(), watchCache: false });
    const a = await direct.create(pods, pod("a"));
    const ev = new Events();
    handles.push(
      await direct.watch(pods, { resourceVersion: a.metadata.resourceVersion! }, ev.onEvent, ev.onError),
    );
    const b = await direct.update(pods, { ...a, metadata: { ...a.metadata, labels: { v: "b" } } });
    await direct.update(pods, { ...b, metadata: { ...b.metadata, labels: { v: "c" } } });
    await client.kv.compact({ revision: b.metadata.resourceVersion!, physical: true });
    const err = await direct
      .watch(
        pods,
        { resourceVersion: a.metadata.resourceVersion! },
        () => {},
        () => {},
      )
      .catch((e: unknown) => e);
    expect(isApiError(err, "Gone")).toBe(true);
    expect((err as ApiError).code).toBe(410);
    expect((err as ApiError).message).toContain("too old resource version");
    // Already-running watches keep going past a compaction.
    expect((await ev.next()).object.metadata.labels).toEqual({ v: "b" });
    expect(ev.errors).toEqual([]);
    // A watch from exactly the compaction revision still works.
    const ok = new Events();
    handles.push(
      await direct.watch(pods, { resourceVersion: b.metadata.resourceVersion! }, ok.onEvent, ok.onError),
    );
    expect((await ok.next()).object.metadata.labels).toEqual({ v: "c" });
    await expect(
      direct.watch(
        pods,
        { resourceVersion: "abc" },
        () => {},
        () => {},
      ),
    ).rejects.toThrow(/invalid resourceVersion/);
  });

  it("sends bookmarks with the newest revision on the injected clock", async () => {
    const clock = new FakeClock(0);
    const timed = new Store({ client, metrics, clock });
    const ev = new Events();
    const start = await timed.currentRevision();
    handles.push(
      await timed.watch(pods, { resourceVersion: start, bookmarkIntervalMs: 1000 }, ev.onEvent, ev.onError),
    );
    await new Promise((r) => setImmediate(r));
    const a = await timed.create(pods, pod("a"));
    expect((await ev.next()).type).toBe("ADDED");
    clock.advance(1000);
    const bm = await ev.next();
    expect(bm).toEqual({
      type: "BOOKMARK",
      object: { apiVersion: "v1", kind: "Pod", metadata: { resourceVersion: a.metadata.resourceVersion } },
    });
    clock.advance(1000);
    expect((await ev.next()).type).toBe("BOOKMARK");
  });

  it("delivers nothing after close and records etcd latency", async () => {
    const ev = new Events();
    const h = await store.watch(pods, {}, ev.onEvent, ev.onError);
    h.close();
    await store.create(pods, pod("late"));
    await new Promise((r) => setTimeout(r, 200));
    expect(ev.events).toEqual([]);
    const text = await metrics.metrics();
    expect(text).toMatch(/etcd_request_duration_seconds_count\{operation="create",type="pods"\} \d+/);
  });
});
