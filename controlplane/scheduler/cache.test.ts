import { describe, expect, it } from "vitest";
import { deepFreeze } from "../controllers/machinery/readonly.js";
import { FakeClock } from "../util/clock.js";
import { SchedulerCache } from "./cache.js";
import { podInfo } from "./pod-info.js";
import { makeNode, makePod } from "./testing/fixtures.js";

const info = (name: string, cpu: string) => podInfo(deepFreeze(makePod(name, { cpu })));

describe("SchedulerCache", () => {
  it("counts assumed pods on their node until the binding is confirmed or forgotten", () => {
    const clock = new FakeClock();
    const cache = new SchedulerCache(clock, 30_000);
    cache.setNode(deepFreeze(makeNode("n1")));
    cache.assume(info("a", "1"), "n1");
    expect(cache.node("n1")!.reqMilliCpu).toBe(1000);
    expect(cache.isAssumed("default/a")).toBe(true);
    cache.addBoundPod(info("a", "1"), "n1");
    expect(cache.isAssumed("default/a")).toBe(false);
    expect(cache.node("n1")!.reqMilliCpu).toBe(1000);

    cache.assume(info("b", "2"), "n1");
    expect(cache.node("n1")!.reqMilliCpu).toBe(3000);
    cache.forget("default/b");
    expect(cache.node("n1")!.reqMilliCpu).toBe(1000);
    cache.forget("default/a");
    expect(cache.isPlaced("default/a")).toBe(true);
  });

  it("moves a pod that turns out bound to another node than assumed", () => {
    const cache = new SchedulerCache(new FakeClock());
    cache.setNode(deepFreeze(makeNode("n1")));
    cache.setNode(deepFreeze(makeNode("n2")));
    cache.assume(info("a", "1"), "n1");
    cache.addBoundPod(info("a", "1"), "n2");
    expect(cache.node("n1")!.reqMilliCpu).toBe(0);
    expect(cache.node("n2")!.reqMilliCpu).toBe(1000);
  });

  it("expires an assumed pod whose binding finished but never showed up", () => {
    const clock = new FakeClock();
    const cache = new SchedulerCache(clock, 30_000);
    cache.setNode(deepFreeze(makeNode("n1")));
    cache.assume(info("a", "1"), "n1");
    cache.assume(info("b", "1"), "n1");
    cache.finishBinding("default/a");
    clock.advance(29_999);
    expect(cache.expireAssumed()).toEqual([]);
    clock.advance(1);
    expect(cache.expireAssumed()).toEqual(["default/a"]);
    // b's binding has not returned yet: it stays.
    expect(cache.isAssumed("default/b")).toBe(true);
    expect(cache.node("n1")!.reqMilliCpu).toBe(1000);
  });

  it("keeps accounting for pods whose Node is missing, and only lists nodes with a Node", () => {
    const cache = new SchedulerCache(new FakeClock());
    cache.addBoundPod(info("a", "1"), "ghost");
    expect(cache.nodes()).toHaveLength(0);
    cache.setNode(deepFreeze(makeNode("ghost")));
    expect(cache.nodes().map((n) => n.name)).toEqual(["ghost"]);
    expect(cache.node("ghost")!.reqMilliCpu).toBe(1000);
    cache.removeNode("ghost");
    expect(cache.nodes()).toHaveLength(0);
    cache.setNode(deepFreeze(makeNode("ghost")));
    expect(cache.node("ghost")!.reqMilliCpu).toBe(1000);
  });

  it("reports a node change only when something scheduling reads changed", () => {
    const cache = new SchedulerCache(new FakeClock());
    expect(cache.setNode(deepFreeze(makeNode("n1")))).toBe(true);
    expect(cache.setNode(deepFreeze(makeNode("n1", { resourceVersion: "2" })))).toBe(false);
    expect(cache.setNode(deepFreeze(makeNode("n1", { cpu: "8" })))).toBe(true);
    expect(cache.setNode(deepFreeze(makeNode("n1", { cpu: "8", unschedulable: true })))).toBe(true);
  });
});
