import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { ApiError } from "../../foundation/api/errors.js";
import { type DeepReadonly, deepFreeze } from "../../foundation/api/readonly.js";
import { FakeClock } from "../../foundation/util/clock.js";
import type { Node, Pod, PodCondition } from "../../proto/gen/api.js";
import type { EventHandler } from "../client/informer.js";
import { type InformerSource, Scheduler, type SchedulerBackend, type SchedulerEvent } from "./scheduler.js";
import { makeNode, makePod } from "./testing/fixtures.js";

/**
 * Hands events straight to the handlers, and objects added before a handler registers to it as adds
 * (as the real informer does): enough to drive the scheduler in a unit test.
 */
class FakeSource<T> implements InformerSource<T> {
  handlers: EventHandler<T>[] = [];
  private readonly existing: T[] = [];
  addEventHandler(h: EventHandler<T>) {
    this.handlers.push(h);
    for (const obj of this.existing) h.onAdd?.(deepFreeze(structuredClone(obj)));
    return () => {
      this.handlers = this.handlers.filter((x) => x !== h);
    };
  }
  async waitForSync() {}
  add(obj: T) {
    if (this.handlers.length === 0) this.existing.push(obj);
    for (const h of this.handlers) h.onAdd?.(deepFreeze(structuredClone(obj)));
  }
  update(old: T, obj: T) {
    for (const h of this.handlers)
      h.onUpdate?.(deepFreeze(structuredClone(old)), deepFreeze(structuredClone(obj)));
  }
  remove(obj: T) {
    for (const h of this.handlers) h.onDelete?.(deepFreeze(structuredClone(obj)));
  }
}

interface PendingBind {
  pod: string;
  node: string;
  resolve(): void;
  reject(err: Error): void;
}

class FakeBackend implements SchedulerBackend {
  pods = new FakeSource<Pod>();
  nodes = new FakeSource<Node>();
  binds: PendingBind[] = [];
  conditions: { pod: string; condition: PodCondition }[] = [];
  events: string[] = [];
  bind(pod: DeepReadonly<Pod>, node: string) {
    return new Promise<void>((resolve, reject) =>
      this.binds.push({ pod: pod.metadata.name!, node, resolve, reject }),
    );
  }
  async setCondition(pod: DeepReadonly<Pod>, condition: PodCondition) {
    this.conditions.push({ pod: pod.metadata.name!, condition });
  }
  recordEvent(e: SchedulerEvent) {
    this.events.push(`${e.type} ${e.reason} ${e.pod.metadata.name}: ${e.message}`);
  }
  bound(): string[] {
    return this.binds.map((b) => `${b.pod}->${b.node}`);
  }
}

const flush = async () => {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
};

const running: AbortController[] = [];
afterEach(() => {
  for (const ac of running.splice(0)) ac.abort();
});

async function start(backend: FakeBackend, clock = new FakeClock(), registry = new Registry()) {
  const scheduler = new Scheduler({ backend, clock, registry, random: () => 0.99 });
  const ac = new AbortController();
  running.push(ac);
  const done = scheduler.run(ac.signal);
  await flush();
  return { scheduler, clock, registry, done, ac };
}

describe("Scheduler", () => {
  it("schedules by priority and sees its own in-flight bindings (assume) before the watch confirms them", async () => {
    const b = new FakeBackend();
    b.nodes.add(makeNode("n1", { cpu: "1" }));
    b.pods.add(makePod("c", { cpu: "400m", priority: 0 }));
    b.pods.add(makePod("b", { cpu: "600m", priority: 5 }));
    b.pods.add(makePod("a", { cpu: "600m", priority: 10 }));
    await start(b);
    // a takes 600m (binding not yet answered), so b no longer fits; c fits the remaining 400m.
    expect(b.bound()).toEqual(["a->n1", "c->n1"]);
    expect(b.conditions).toEqual([
      {
        pod: "b",
        condition: {
          type: "PodScheduled",
          status: "False",
          reason: "Unschedulable",
          message: "0/1 nodes are available: 1 Insufficient cpu.",
          lastTransitionTime: "1970-01-01T00:00:00.000Z",
        },
      },
    ]);
    expect(b.events).toContain("Warning FailedScheduling b: 0/1 nodes are available: 1 Insufficient cpu.");
    for (const bind of b.binds) bind.resolve();
    await flush();
    expect(b.events).toContain("Normal Scheduled a: Successfully assigned default/a to n1");
  });

  it("retries a parked pod when a node is added, after its backoff", async () => {
    const b = new FakeBackend();
    const { clock, scheduler } = await start(b);
    b.nodes.add(makeNode("n1", { cpu: "1" }));
    b.pods.add(makePod("big", { cpu: "2" }));
    await flush();
    expect(b.bound()).toEqual([]);
    expect(scheduler.queue.lengths().unschedulable).toBe(1);
    b.nodes.add(makeNode("n2", { cpu: "4" }));
    await flush();
    // The first retry waits out the 1 s initial backoff.
    expect(scheduler.queue.lengths().backoff + scheduler.queue.lengths().active).toBe(1);
    clock.advance(1000);
    await flush();
    expect(b.bound()).toEqual(["big->n2"]);
  });

  it("ignores node heartbeats but retries when a bound pod goes away", async () => {
    const b = new FakeBackend();
    const { clock, scheduler } = await start(b);
    const node = makeNode("n1", { cpu: "1" });
    b.nodes.add(node);
    const running = makePod("running", { cpu: "1", nodeName: "n1", phase: "Running" });
    b.pods.add(running);
    b.pods.add(makePod("waiting", { cpu: "1" }));
    await flush();
    expect(scheduler.queue.lengths().unschedulable).toBe(1);
    b.nodes.update(node, makeNode("n1", { cpu: "1", resourceVersion: "2" }));
    expect(scheduler.queue.lengths().unschedulable).toBe(1);
    b.pods.remove(running);
    clock.advance(1000);
    await flush();
    expect(b.bound()).toEqual(["waiting->n1"]);
  });

  it("frees the node when a bound pod completes", async () => {
    const b = new FakeBackend();
    const { clock } = await start(b);
    b.nodes.add(makeNode("n1", { cpu: "1" }));
    const job = makePod("job", { cpu: "1", nodeName: "n1", phase: "Running" });
    b.pods.add(job);
    b.pods.add(makePod("next", { cpu: "1" }));
    await flush();
    b.pods.update(job, { ...job, status: { phase: "Succeeded" } });
    clock.advance(1000);
    await flush();
    expect(b.bound()).toEqual(["next->n1"]);
  });

  it("forgets the assumption when a binding fails and retries after backoff", async () => {
    const b = new FakeBackend();
    const { clock, scheduler } = await start(b);
    b.nodes.add(makeNode("n1"));
    b.pods.add(makePod("p"));
    await flush();
    expect(b.bound()).toEqual(["p->n1"]);
    b.binds[0]!.reject(new ApiError("ServiceUnavailable", "etcd is down"));
    await flush();
    expect(scheduler.cache.isPlaced("default/p")).toBe(false);
    clock.advance(1000);
    await flush();
    expect(b.bound()).toEqual(["p->n1", "p->n1"]);
  });

  it("drops a pod whose binding finds it gone", async () => {
    const b = new FakeBackend();
    const { scheduler } = await start(b);
    b.nodes.add(makeNode("n1"));
    b.pods.add(makePod("p"));
    await flush();
    b.binds[0]!.reject(new ApiError("NotFound", 'pods "p" not found'));
    await flush();
    expect(scheduler.queue.has("default/p")).toBe(false);
    expect(scheduler.cache.isPlaced("default/p")).toBe(false);
  });

  it("leaves pods for other schedulers, pods being deleted, and finished pods alone", async () => {
    const b = new FakeBackend();
    await start(b);
    b.nodes.add(makeNode("n1"));
    b.pods.add(makePod("other", { schedulerName: "my-scheduler" }));
    b.pods.add(makePod("done", { phase: "Succeeded" }));
    const deleting = makePod("deleting");
    deleting.metadata.deletionTimestamp = "2024-01-01T00:00:00Z";
    b.pods.add(deleting);
    b.pods.add(makePod("mine", { schedulerName: "default-scheduler" }));
    await flush();
    expect(b.bound()).toEqual(["mine->n1"]);
  });

  it("writes the same unschedulable verdict only once, and a new one when it changes", async () => {
    const b = new FakeBackend();
    const { clock } = await start(b);
    b.nodes.add(makeNode("n1", { memory: "1Gi" }));
    b.pods.add(makePod("p", { memory: "2Gi" }));
    await flush();
    b.nodes.add(makeNode("n2", { memory: "1Gi" }));
    clock.advance(1000);
    await flush();
    b.nodes.add(makeNode("n3", { memory: "1Gi" }));
    clock.advance(2000);
    await flush();
    expect(b.conditions.map((c) => c.condition.message)).toEqual([
      "0/1 nodes are available: 1 Insufficient memory.",
      "0/2 nodes are available: 2 Insufficient memory.",
      "0/3 nodes are available: 3 Insufficient memory.",
    ]);
    clock.advance(60_000);
    await flush();
    expect(b.conditions).toHaveLength(3);
  });

  it("does not rewrite a verdict the pod already carries", async () => {
    const b = new FakeBackend();
    b.nodes.add(makeNode("n1", { memory: "1Gi" }));
    const pod = makePod("p", { memory: "2Gi" });
    pod.status!.conditions = [
      {
        type: "PodScheduled",
        status: "False",
        reason: "Unschedulable",
        message: "0/1 nodes are available: 1 Insufficient memory.",
      },
    ];
    b.pods.add(pod);
    await start(b);
    expect(b.conditions).toEqual([]);
  });

  it("reports an invalid pod instead of scheduling it", async () => {
    const b = new FakeBackend();
    await start(b);
    b.nodes.add(makeNode("n1"));
    b.pods.add(makePod("bad", { cpu: "lots" }));
    await flush();
    expect(b.bound()).toEqual([]);
    expect(b.events[0]).toMatch(
      /^Warning FailedScheduling bad: spec\.containers\[0\]\.resources\.requests\.cpu: invalid quantity "lots"/,
    );
  });

  it("exports attempts by result, latency and queue depth", async () => {
    const b = new FakeBackend();
    const { registry } = await start(b);
    b.nodes.add(makeNode("n1", { cpu: "1" }));
    b.pods.add(makePod("fits", { cpu: "1" }));
    b.pods.add(makePod("does-not", { cpu: "1" }));
    await flush();
    b.binds[0]!.resolve();
    await flush();
    const text = await registry.metrics();
    expect(text).toMatch(/kctl_scheduler_schedule_attempts_total\{result="scheduled"\} 1/);
    expect(text).toMatch(/kctl_scheduler_schedule_attempts_total\{result="unschedulable"\} 1/);
    expect(text).toMatch(/kctl_scheduler_scheduling_attempt_duration_seconds_count\{result="scheduled"\} 1/);
    expect(text).toMatch(/kctl_scheduler_pending_pods\{queue="unschedulable"\} 1/);
    expect(text).toMatch(/kctl_scheduler_pod_scheduling_duration_seconds_count 1/);
  });

  it("a scheduler for a new leadership term reuses the metrics in the same registry", async () => {
    const registry = new Registry();
    const b = new FakeBackend();
    const first = await start(b, new FakeClock(), registry);
    first.ac.abort();
    await first.done;
    const second = await start(b, new FakeClock(), registry);
    b.nodes.add(makeNode("n1"));
    b.pods.add(makePod("p"));
    await flush();
    expect(await registry.metrics()).toMatch(
      /kctl_scheduler_schedule_attempts_total\{result="scheduled"\} 1/,
    );
    second.ac.abort();
    await second.done;
  });

  it("stops while waiting for a binding slot", async () => {
    const b = new FakeBackend();
    const scheduler = new Scheduler({ backend: b, clock: new FakeClock(), maxInFlightBinds: 1 });
    const ac = new AbortController();
    const done = scheduler.run(ac.signal);
    b.nodes.add(makeNode("n1"));
    b.pods.add(makePod("a"));
    b.pods.add(makePod("b"));
    await flush();
    expect(b.bound()).toEqual(["a->n1"]);
    ac.abort();
    await done;
  });

  it("stops when aborted and unsubscribes from the informers", async () => {
    const b = new FakeBackend();
    const { done, ac } = await start(b);
    ac.abort();
    await done;
    expect(b.pods.handlers).toHaveLength(0);
    expect(b.nodes.handlers).toHaveLength(0);
  });
});
