import { describe, expect, it } from "vitest";
import { deepFreeze } from "../../foundation/api/readonly.js";
import { FakeClock } from "../../foundation/util/clock.js";
import type { Node, Pod } from "../../proto/gen/api.js";
import { SchedulingAlgorithm } from "./algorithm.js";
import { SchedulerCache } from "./cache.js";
import { defaultFilters } from "./filters/index.js";
import { FitError, fitErrorMessage } from "./fit-error.js";
import { podInfo } from "./pod-info.js";
import { defaultScores } from "./scores.js";
import { makeNode, makePod } from "./testing/fixtures.js";

function setup(nodes: Node[], placed: Pod[] = [], random = () => 0, percentageOfNodesToScore = 0) {
  const cache = new SchedulerCache(new FakeClock());
  for (const n of nodes) cache.setNode(deepFreeze(n));
  for (const p of placed) cache.addBoundPod(podInfo(deepFreeze(p)), p.spec!.nodeName!);
  const algo = new SchedulingAlgorithm({
    filters: defaultFilters,
    scores: defaultScores,
    random,
    percentageOfNodesToScore,
  });
  return { cache, algo, schedule: (pod: Pod) => algo.schedule(podInfo(deepFreeze(pod)), cache) };
}

function fitError(fn: () => unknown): FitError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FitError) return err;
    throw err;
  }
  throw new Error("expected a FitError");
}

describe("SchedulingAlgorithm", () => {
  it("writes the unschedulable message like Kubernetes: counts per reason, sorted", () => {
    const { schedule } = setup([
      makeNode("n1", { memory: "1Gi" }),
      makeNode("n2", { memory: "1Gi" }),
      makeNode("n3", { taints: [{ key: "key", value: "value", effect: "NoSchedule" }] }),
    ]);
    const err = fitError(() => schedule(makePod("p", { memory: "2Gi" })));
    expect(err.message).toBe(
      "0/3 nodes are available: 1 node(s) had untolerated taint {key: value}, 2 Insufficient memory.",
    );
    expect(err.numAllNodes).toBe(3);
  });

  it("counts a node once per insufficient resource, and only its first failing filter", () => {
    const { schedule } = setup([
      makeNode("n1", { cpu: "1", memory: "1Gi" }),
      makeNode("n2", { cpu: "1", memory: "1Gi", ready: false }),
      makeNode("n3", { cpu: "1", memory: "1Gi", unschedulable: true }),
    ]);
    expect(fitError(() => schedule(makePod("p", { cpu: "2", memory: "2Gi" }))).message).toBe(
      "0/3 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 node(s) were not ready, 1 node(s) were unschedulable.",
    );
  });

  it("says so when there are no nodes at all", () => {
    expect(fitError(() => setup([]).schedule(makePod("p"))).message).toBe(
      "no nodes available to schedule pods",
    );
    expect(fitErrorMessage(0, new Map())).toBe("no nodes available to schedule pods");
  });

  it("picks the highest total score", () => {
    const { schedule } = setup(
      [makeNode("busy"), makeNode("idle"), makeNode("half")],
      [
        makePod("a", { nodeName: "busy", cpu: "3", memory: "6Gi" }),
        makePod("b", { nodeName: "half", cpu: "2", memory: "4Gi" }),
      ],
    );
    expect(schedule(makePod("p", { cpu: "500m" })).nodeName).toBe("idle");
  });

  it("spreads a controller's pods before packing by resources", () => {
    // n0 has more room but already runs a replica of rs1.
    const { schedule } = setup(
      [makeNode("n0", { cpu: "8" }), makeNode("n1", { cpu: "4" })],
      [makePod("r0", { nodeName: "n0", owner: "rs1" })],
    );
    expect(schedule(makePod("p", { owner: "rs1" })).nodeName).toBe("n1");
  });

  it("breaks ties with the injected randomness", () => {
    const ns = [makeNode("a"), makeNode("b"), makeNode("c")];
    // Reservoir sampling: on the k-th tie, random() * k < 1 switches to it.
    expect(setup(ns, [], () => 0.99).schedule(makePod("p")).nodeName).toBe("a");
    expect(setup(ns, [], () => 0).schedule(makePod("p")).nodeName).toBe("c");
    const seq = [0.4, 0.9];
    expect(setup(ns, [], () => seq.shift()!).schedule(makePod("p")).nodeName).toBe("b");
  });

  it("samples nodes on big clusters like percentageOfNodesToScore, rotating the start", () => {
    const { algo } = setup([]);
    expect(algo.numFeasibleNodesToFind(50)).toBe(50);
    expect(algo.numFeasibleNodesToFind(1000)).toBe(420); // 50 - 1000/125 = 42%
    expect(algo.numFeasibleNodesToFind(5000)).toBe(500); // 50 - 40 = 10%
    expect(algo.numFeasibleNodesToFind(100_000)).toBe(5000); // floor at 5%
    const many = Array.from({ length: 1000 }, (_, i) => makeNode(`n${i}`));
    const s = setup(many);
    const first = s.schedule(makePod("p1"));
    expect(first.evaluatedNodes).toBe(420);
    expect(first.feasibleNodes).toBe(420);
    const all = setup(many, [], () => 0, 100).schedule(makePod("p1"));
    expect(all.evaluatedNodes).toBe(1000);
  });

  it("rejects a bad percentageOfNodesToScore", () => {
    expect(() => setup([], [], () => 0, 101)).toThrow(/percentageOfNodesToScore/);
  });
});
