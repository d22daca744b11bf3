import { describe, expect, it } from "vitest";
import { parseSelector } from "../../foundation/api/labels.js";
import { deepFreeze } from "../../foundation/api/readonly.js";
import { FakeClock } from "../../foundation/util/clock.js";
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

  it("narrows selector candidates through the label index, and keeps it current", () => {
    const cache = new SchedulerCache(new FakeClock());
    const labelled = (name: string, labels: Record<string, string>) =>
      podInfo(deepFreeze(makePod(name, { labels })));
    cache.addBoundPod(labelled("a", { app: "web", tier: "front" }), "n1");
    cache.addBoundPod(labelled("b", { app: "db" }), "n1");
    cache.addBoundPod(labelled("c", { app: "web" }), "n2");
    const names = (sel: string) => [...cache.candidatesFor(parseSelector(sel))].map((p) => p.info.key).sort();
    expect(names("app=web")).toEqual(["default/a", "default/c"]);
    expect(names("app in (db,web)")).toEqual(["default/a", "default/b", "default/c"]);
    expect(names("tier")).toEqual(["default/a", "default/b", "default/c"]);
    cache.addBoundPod(labelled("a", { app: "db" }), "n1");
    expect(names("app=web")).toEqual(["default/c"]);
    cache.removePod("default/c");
    expect(names("app=web")).toEqual([]);
  });

  it("indexes placed anti-affinity terms by the label they require", () => {
    const cache = new SchedulerCache(new FakeClock());
    const avoiding = (name: string, matchLabels: Record<string, string>) =>
      podInfo(
        deepFreeze(
          makePod(name, { antiAffinity: [{ labelSelector: { matchLabels }, topologyKey: "zone" }] }),
        ),
      );
    const everyone = podInfo(
      deepFreeze(
        makePod("e", {
          antiAffinity: [
            {
              labelSelector: { matchExpressions: [{ key: "app", operator: "Exists" }] },
              topologyKey: "zone",
            },
          ],
        }),
      ),
    );
    cache.addBoundPod(avoiding("w", { app: "web" }), "n1");
    cache.addBoundPod(avoiding("d", { app: "db" }), "n1");
    cache.addBoundPod(everyone, "n2");
    const owners = (labels: Record<string, string>) =>
      cache
        .termsThatMaySelect(labels)
        .map((t) => t.info.key)
        .sort();
    expect(owners({ app: "web" })).toEqual(["default/e", "default/w"]);
    expect(owners({})).toEqual(["default/e"]);
    cache.removePod("default/w");
    cache.removePod("default/e");
    expect(owners({ app: "web" })).toEqual([]);
    expect(owners({ app: "db" })).toEqual(["default/d"]);
  });
});
