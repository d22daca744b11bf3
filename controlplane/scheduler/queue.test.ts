import { describe, expect, it } from "vitest";
import { deepFreeze } from "../../foundation/api/readonly.js";
import { FakeClock } from "../../foundation/util/clock.js";
import { podInfo } from "./pod-info.js";
import { SchedulingQueue } from "./queue.js";
import { makePod, type PodOptions } from "./testing/fixtures.js";

const info = (name: string, o: PodOptions = {}) => podInfo(deepFreeze(makePod(name, o)));

async function popAll(q: SchedulingQueue): Promise<string[]> {
  const out: string[] = [];
  while (q.lengths().active > 0) out.push((await q.pop())!.info.pod.metadata.name!);
  return out;
}

describe("SchedulingQueue", () => {
  it("pops by priority, then first come first served", async () => {
    const q = new SchedulingQueue({ clock: new FakeClock() });
    q.add(info("low-1", { priority: 0 }));
    q.add(info("high-1", { priority: 100 }));
    q.add(info("low-2", { priority: 0 }));
    q.add(info("mid", { priority: 10 }));
    q.add(info("high-2", { priority: 100 }));
    q.add(info("low-1", { priority: 0 }));
    expect(await popAll(q)).toEqual(["high-1", "high-2", "mid", "low-1", "low-2"]);
    q.close();
  });

  it("keeps order through deletes from the middle of the heap", async () => {
    const q = new SchedulingQueue({ clock: new FakeClock() });
    for (let i = 0; i < 20; i++) q.add(info(`p${i}`, { priority: i % 3 }));
    for (let i = 0; i < 20; i += 4) q.delete(`default/p${i}`);
    const got = await popAll(q);
    const want = Array.from({ length: 20 }, (_, i) => i)
      .filter((i) => i % 4 !== 0)
      .sort((a, b) => (b % 3) - (a % 3) || a - b)
      .map((i) => `p${i}`);
    expect(got).toEqual(want);
    q.close();
  });

  it("wakes a waiting pop when a pod arrives, and close releases it", async () => {
    const q = new SchedulingQueue({ clock: new FakeClock() });
    const waiting = q.pop();
    q.add(info("a"));
    expect((await waiting)?.info.key).toBe("default/a");
    const idle = q.pop();
    q.close();
    expect(await idle).toBeUndefined();
  });

  it("parks an unschedulable pod until the cluster changes, then retries it after its backoff", async () => {
    const clock = new FakeClock();
    const q = new SchedulingQueue({ clock, initialBackoffMs: 1000, maxBackoffMs: 10_000 });
    q.add(info("a"));
    const qp = (await q.pop())!;
    q.requeueUnschedulable(qp.info.key, q.schedulingCycle);
    expect(q.lengths()).toEqual({ active: 0, backoff: 0, unschedulable: 1 });
    clock.advance(5000);
    expect(q.lengths().unschedulable).toBe(1);
    q.moveAllToActiveOrBackoff();
    // Its 1 s backoff after the first attempt is long over: straight to active.
    expect(q.lengths()).toEqual({ active: 1, backoff: 0, unschedulable: 0 });
    const again = (await q.pop())!;
    expect(again.attempts).toBe(2);
    q.requeueUnschedulable(again.info.key, q.schedulingCycle);
    q.moveAllToActiveOrBackoff();
    // Second failure: 2 s backoff from the failure.
    expect(q.lengths()).toEqual({ active: 0, backoff: 1, unschedulable: 0 });
    clock.advance(1999);
    expect(q.lengths().active).toBe(0);
    clock.advance(1);
    expect(q.lengths()).toEqual({ active: 1, backoff: 0, unschedulable: 0 });
    q.close();
  });

  it("does not park a pod when the cluster changed while it was being scheduled", async () => {
    const clock = new FakeClock();
    const q = new SchedulingQueue({ clock });
    q.add(info("a"));
    const qp = (await q.pop())!;
    const cycle = q.schedulingCycle;
    q.moveAllToActiveOrBackoff();
    q.requeueUnschedulable(qp.info.key, cycle);
    expect(q.lengths()).toEqual({ active: 0, backoff: 1, unschedulable: 0 });
    clock.advance(1000);
    expect(q.lengths().active).toBe(1);
    q.close();
  });

  it("retries parked pods after maxParkedMs even without a change", () => {
    const clock = new FakeClock();
    const q = new SchedulingQueue({ clock, maxParkedMs: 60_000 });
    q.add(info("a"));
    void q.pop().then((qp) => q.requeueUnschedulable(qp!.info.key, q.schedulingCycle));
    return Promise.resolve().then(() => {
      expect(q.lengths().unschedulable).toBe(1);
      clock.advance(30_000);
      expect(q.lengths().unschedulable).toBe(1);
      clock.advance(30_000);
      expect(q.lengths()).toEqual({ active: 1, backoff: 0, unschedulable: 0 });
      q.close();
      expect(clock.pendingTimers()).toBe(0);
    });
  });

  it("wakes a parked pod when its spec or labels change, not on status updates", async () => {
    const q = new SchedulingQueue({ clock: new FakeClock() });
    q.add(info("a", { cpu: "8" }));
    const qp = (await q.pop())!;
    q.requeueUnschedulable(qp.info.key, q.schedulingCycle);
    const statusOnly = makePod("a", { cpu: "8", phase: "Pending" });
    statusOnly.status!.conditions = [{ type: "PodScheduled", status: "False" }];
    q.add(podInfo(deepFreeze(statusOnly)));
    expect(q.lengths().unschedulable).toBe(1);
    q.add(info("a", { cpu: "1" }));
    expect(q.lengths().unschedulable).toBe(0);
    q.close();
  });

  it("forgets deleted pods wherever they are", async () => {
    const clock = new FakeClock();
    const q = new SchedulingQueue({ clock });
    q.add(info("active"));
    q.add(info("parked"));
    q.add(info("backoff"));
    const p1 = (await q.pop())!;
    const p2 = (await q.pop())!;
    const p3 = (await q.pop())!;
    expect([p1, p2, p3].map((p) => p.info.pod.metadata.name)).toEqual(["active", "parked", "backoff"]);
    q.add(info("active2"));
    q.requeueUnschedulable(p2.info.key, q.schedulingCycle);
    q.requeueAfterError(p3.info.key);
    expect(q.lengths()).toEqual({ active: 1, backoff: 1, unschedulable: 1 });
    for (const k of ["default/active2", "default/parked", "default/backoff"]) q.delete(k);
    expect(q.lengths()).toEqual({ active: 0, backoff: 0, unschedulable: 0 });
    expect(q.has("default/backoff")).toBe(false);
    q.close();
  });
});
