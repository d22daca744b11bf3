import { describe, expect, it } from "vitest";
import { ApiError } from "../../foundation/api/errors.js";
import type { DeepReadonly } from "../../foundation/api/readonly.js";
import type { WatchEvent } from "../../foundation/api/watch.js";
import { FakeClock } from "../../foundation/util/clock.js";
import { ListWatchInformer } from "./informer.js";
import type { ListerWatcher, ListResult, WatchHandle } from "./lister-watcher.js";

interface Obj {
  metadata: { name: string; namespace?: string; resourceVersion: string };
  spec: { node: string };
}

const obj = (name: string, rv: number, node = "n1"): Obj => ({
  metadata: { name, namespace: "default", resourceVersion: String(rv) },
  spec: { node },
});

interface OpenWatch {
  rv: string;
  emit(e: WatchEvent<Obj>): void;
  fail(err: Error): void;
  closed: boolean;
}

/** A scripted ListerWatcher: `lists` answers successive list calls; watches are recorded. */
class FakeLW implements ListerWatcher<Obj> {
  lists: (ListResult<Obj> | Error)[] = [];
  listCalls = 0;
  watches: OpenWatch[] = [];

  async list(): Promise<ListResult<Obj>> {
    const next = this.lists[Math.min(this.listCalls++, this.lists.length - 1)];
    if (next instanceof Error) throw next;
    return structuredClone(next!);
  }

  watch(
    rv: string,
    onEvent: (e: WatchEvent<Obj>) => void,
    onError: (err: Error) => void,
  ): WatchHandle | Promise<WatchHandle> {
    const w: OpenWatch = { rv, emit: onEvent, fail: onError, closed: false };
    this.watches.push(w);
    return {
      close: () => {
        w.closed = true;
      },
    };
  }

  get current(): OpenWatch {
    return this.watches[this.watches.length - 1]!;
  }
}

function recorder() {
  const log: string[] = [];
  return {
    log,
    handler: {
      onAdd: (o: DeepReadonly<Obj>) => log.push(`add ${o.metadata.name}@${o.metadata.resourceVersion}`),
      onUpdate: (a: DeepReadonly<Obj>, b: DeepReadonly<Obj>) =>
        log.push(`update ${b.metadata.name}@${a.metadata.resourceVersion}->${b.metadata.resourceVersion}`),
      onDelete: (o: DeepReadonly<Obj>) => log.push(`delete ${o.metadata.name}@${o.metadata.resourceVersion}`),
    },
  };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

async function started(lw: FakeLW, clock = new FakeClock(), resyncMs = 0) {
  const inf = new ListWatchInformer<Obj>(lw, {
    name: "test",
    clock,
    resyncMs,
    retryBaseMs: 100,
    retryMaxMs: 400,
    indexers: { byNode: (o) => [o.spec.node] },
  });
  const rec = recorder();
  inf.addEventHandler(rec.handler);
  inf.start();
  await inf.waitForSync();
  await flush();
  return { inf, rec, clock };
}

describe("Informer", () => {
  it("lists, then watches from the list's revision, and applies events to the cache", async () => {
    const lw = new FakeLW();
    lw.lists = [{ items: [obj("a", 5), obj("b", 6)], resourceVersion: "10" }];
    const { inf, rec } = await started(lw);
    expect(inf.hasSynced()).toBe(true);
    expect(lw.current.rv).toBe("10");
    lw.current.emit({ type: "ADDED", object: obj("c", 11) });
    lw.current.emit({ type: "MODIFIED", object: obj("a", 12, "n2") });
    lw.current.emit({ type: "DELETED", object: obj("b", 13) });
    lw.current.emit({ type: "BOOKMARK", object: { metadata: { resourceVersion: "20" } } as Obj });
    expect(rec.log).toEqual(["add a@5", "add b@6", "add c@11", "update a@5->12", "delete b@13"]);
    expect(inf.resourceVersion).toBe("20");
    expect(inf.lister.list().map((o) => o.metadata.name)).toEqual(["a", "c"]);
    expect(inf.lister.get("default/a")?.spec.node).toBe("n2");
    expect(inf.lister.byIndex("byNode", "n2").map((o) => o.metadata.name)).toEqual(["a"]);
    expect(inf.lister.byIndex("byNode", "n1").map((o) => o.metadata.name)).toEqual(["c"]);
    expect(() => inf.lister.byIndex("nope", "x")).toThrow(/no index named "nope"/);
  });

  it("hands out frozen objects, so writing through the lister throws", async () => {
    const lw = new FakeLW();
    lw.lists = [{ items: [obj("a", 1)], resourceVersion: "1" }];
    const { inf } = await started(lw);
    const cached = inf.lister.get("default/a") as Obj;
    expect(() => {
      cached.spec.node = "evil";
    }).toThrow(TypeError);
  });

  it("resumes a dropped watch from the last revision with capped exponential backoff", async () => {
    const lw = new FakeLW();
    lw.lists = [{ items: [], resourceVersion: "10" }];
    const { clock } = await started(lw);
    lw.current.emit({ type: "ADDED", object: obj("a", 11) });
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = lw.watches.length;
      lw.current.fail(new Error("connection reset"));
      let waited = 0;
      while (lw.watches.length === before) {
        clock.advance(50);
        waited += 50;
      }
      delays.push(waited);
      expect(lw.current.rv).toBe("11");
    }
    expect(delays).toEqual([100, 200, 400, 400, 400]);
    expect(lw.watches.slice(0, -1).every((w) => w.closed)).toBe(true);
    expect(lw.listCalls).toBe(1);
    // An event resets the backoff.
    lw.current.emit({ type: "ADDED", object: obj("b", 12) });
    lw.current.fail(new Error("again"));
    clock.advance(100);
    expect(lw.current.rv).toBe("12");
  });

  it("copes with a watch that fails before watch() returns", async () => {
    const lw = new FakeLW();
    lw.lists = [{ items: [], resourceVersion: "5" }];
    const realWatch = lw.watch.bind(lw);
    let failNow = true;
    lw.watch = (rv, onEvent, onError) => {
      const handle = realWatch(rv, onEvent, onError);
      if (failNow) {
        failNow = false;
        onError(new Error("refused"));
      }
      return handle;
    };
    const { clock, inf } = await started(lw);
    expect(lw.watches[0]!.closed).toBe(true);
    clock.advance(100);
    expect(lw.watches).toHaveLength(2);
    inf.stop();
    expect(lw.watches[1]!.closed).toBe(true);
  });

  it("accepts a watch handle that arrives as a promise, and a rejection as a failed stream", async () => {
    const lw = new FakeLW();
    lw.lists = [
      { items: [], resourceVersion: "5" },
      { items: [obj("a", 9)], resourceVersion: "9" },
    ];
    const realWatch = lw.watch.bind(lw);
    let reject = true;
    lw.watch = (rv, onEvent, onError) => {
      const handle = realWatch(rv, onEvent, onError);
      if (reject) {
        reject = false;
        return Promise.reject(new ApiError("Gone", "too old"));
      }
      return Promise.resolve(handle);
    };
    const { inf, rec } = await started(lw);
    await flush();
    expect(lw.listCalls).toBe(2);
    expect(rec.log).toEqual(["add a@9"]);
    lw.current.emit({ type: "ADDED", object: obj("b", 10) });
    expect(inf.lister.size()).toBe(2);
    inf.stop();
    expect(lw.current.closed).toBe(true);
  });

  it("on Gone relists and emits the difference so consumers converge", async () => {
    const lw = new FakeLW();
    lw.lists = [
      { items: [obj("a", 1), obj("b", 2), obj("c", 3)], resourceVersion: "3" },
      { items: [obj("a", 1), obj("b", 7), obj("d", 8)], resourceVersion: "9" },
    ];
    const { inf, rec } = await started(lw);
    rec.log.length = 0;
    lw.current.fail(new ApiError("Gone", "too old resource version: 3 (5)"));
    await flush();
    expect(lw.listCalls).toBe(2);
    expect(rec.log).toEqual(["update b@2->7", "add d@8", "delete c@3"]);
    expect(lw.current.rv).toBe("9");
    expect(inf.lister.size()).toBe(3);
  });

  it("treats an ERROR event carrying a 410 Status as Gone", async () => {
    const lw = new FakeLW();
    lw.lists = [{ items: [], resourceVersion: "3" }];
    await started(lw);
    const status = new ApiError("Gone", "compacted").toStatus();
    lw.current.emit({ type: "ERROR", object: status as unknown as Obj });
    await flush();
    expect(lw.listCalls).toBe(2);
  });

  it("retries a failed list with backoff and only then reports synced", async () => {
    const lw = new FakeLW();
    lw.lists = [new Error("apiserver down"), { items: [obj("a", 1)], resourceVersion: "1" }];
    const clock = new FakeClock();
    const inf = new ListWatchInformer<Obj>(lw, { name: "t", clock, retryBaseMs: 100 });
    inf.start();
    await flush();
    expect(inf.hasSynced()).toBe(false);
    clock.advance(100);
    await inf.waitForSync();
    expect(inf.lister.size()).toBe(1);
    inf.stop();
  });

  it("resync re-delivers every cached object as an update", async () => {
    const lw = new FakeLW();
    lw.lists = [{ items: [obj("a", 1), obj("b", 2)], resourceVersion: "2" }];
    const { rec, clock } = await started(lw, new FakeClock(), 1000);
    rec.log.length = 0;
    clock.advance(999);
    expect(rec.log).toEqual([]);
    clock.advance(1);
    expect(rec.log).toEqual(["update a@1->1", "update b@2->2"]);
    clock.advance(1000);
    expect(rec.log).toHaveLength(4);
  });

  it("tells a late handler about existing objects and survives a throwing handler", async () => {
    const lw = new FakeLW();
    lw.lists = [{ items: [obj("a", 1)], resourceVersion: "1" }];
    const { inf, rec } = await started(lw);
    inf.addEventHandler({
      onAdd: () => {
        throw new Error("boom");
      },
    });
    const late = recorder();
    const unregister = inf.addEventHandler(late.handler);
    expect(late.log).toEqual(["add a@1"]);
    lw.current.emit({ type: "ADDED", object: obj("b", 2) });
    expect(rec.log).toContain("add b@2");
    expect(late.log).toContain("add b@2");
    unregister();
    lw.current.emit({ type: "ADDED", object: obj("c", 3) });
    expect(rec.log).toContain("add c@3");
    expect(late.log).not.toContain("add c@3");
  });

  it("stop closes the watch, cancels timers and ignores later callbacks", async () => {
    const lw = new FakeLW();
    lw.lists = [{ items: [], resourceVersion: "1" }];
    const { inf, rec, clock } = await started(lw, new FakeClock(), 1000);
    const w = lw.current;
    inf.stop();
    expect(w.closed).toBe(true);
    expect(clock.pendingTimers()).toBe(0);
    w.emit({ type: "ADDED", object: obj("x", 2) });
    w.fail(new Error("late"));
    expect(rec.log).toEqual([]);
    expect(lw.watches).toHaveLength(1);
  });
});
