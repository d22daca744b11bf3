import { describe, expect, it } from "vitest";
import { deepFreeze } from "../../foundation/api/readonly.js";
import { FakeClock } from "../../foundation/util/clock.js";
import type { Node, Pod } from "../../proto/gen/api.js";
import { SchedulerCache } from "./cache.js";
import { podInfo } from "./pod-info.js";
import {
  controllerSpreadScore,
  fewerIsBetter,
  leastAllocatedScore,
  preferNoScheduleScore,
  type Score,
} from "./scores.js";
import { makeNode, makePod, type NodeOptions } from "./testing/fixtures.js";

/** Normalized scores of `score` for `pod` over `nodes`, with `placed` pods on their nodes. */
function scoresOf(score: Score, pod: Pod, nodes: Node[], placed: Pod[] = []): number[] | undefined {
  const cache = new SchedulerCache(new FakeClock());
  for (const n of nodes) cache.setNode(deepFreeze(n));
  for (const p of placed) cache.addBoundPod(podInfo(deepFreeze(p)), p.spec!.nodeName!);
  const scorer = score.prepare(podInfo(deepFreeze(pod)), cache);
  if (!scorer) return undefined;
  const infos = nodes.map((n) => cache.node(n.metadata.name!)!);
  infos.forEach((n, i) => {
    n.scoreSlot = i;
  });
  const raw = new Float64Array(nodes.length);
  scorer.scoreAll(infos, infos.length, raw);
  scorer.normalize?.(raw, nodes.length);
  return [...raw];
}

const nodes = (...opts: NodeOptions[]) => opts.map((o, i) => makeNode(`n${i}`, o));

describe("least allocated score", () => {
  it("prefers the emptier node: mean free share of cpu and memory after placing the pod", () => {
    // n0: cpu (4000-1000)/4000 = 75, mem (8-2)/8 = 75 → 75. n1: cpu 1000m used + 1000m: 50; mem 4/8 used → 25 → 37.5.
    const got = scoresOf(
      leastAllocatedScore,
      makePod("p", { cpu: "1", memory: "2Gi" }),
      nodes({ cpu: "4", memory: "8Gi" }, { cpu: "4", memory: "8Gi" }),
      [makePod("x", { nodeName: "n1", cpu: "1", memory: "4Gi" })],
    );
    expect(got).toEqual([75, 37.5]);
  });

  it("counts 100m / 200Mi for pods that request nothing", () => {
    // cpu (1000-100)/1000 = 90; memory (1000Mi-200Mi)/1000Mi = 80 → 85.
    expect(scoresOf(leastAllocatedScore, makePod("p"), nodes({ cpu: "1", memory: "1000Mi" }))).toEqual([85]);
  });

  it("scores 0 for an overcommitted or empty resource", () => {
    expect(
      scoresOf(leastAllocatedScore, makePod("p", { cpu: "2" }), nodes({ cpu: "1", memory: "0" })),
    ).toEqual([0]);
  });
});

describe("controller spread score", () => {
  it("prefers nodes with fewer pods of the same controller", () => {
    const placed = [
      makePod("a", { nodeName: "n0", owner: "rs1" }),
      makePod("b", { nodeName: "n0", owner: "rs1" }),
      makePod("c", { nodeName: "n1", owner: "rs1" }),
      makePod("d", { nodeName: "n2", owner: "rs2" }),
    ];
    expect(
      scoresOf(controllerSpreadScore, makePod("p", { owner: "rs1" }), nodes({}, {}, {}), placed),
    ).toEqual([0, 50, 100]);
  });

  it("does not apply to pods without a controller, or before any of its pods is placed", () => {
    expect(scoresOf(controllerSpreadScore, makePod("p"), nodes({}))).toBeUndefined();
    expect(scoresOf(controllerSpreadScore, makePod("p", { owner: "rs9" }), nodes({}))).toBeUndefined();
  });

  it("stops counting pods that left", () => {
    const cache = new SchedulerCache(new FakeClock());
    cache.setNode(deepFreeze(makeNode("n0")));
    cache.addBoundPod(podInfo(deepFreeze(makePod("a", { owner: "rs1" }))), "n0");
    expect(cache.nodesOfController("rs1")?.size).toBe(1);
    cache.removePod("default/a");
    expect(cache.nodesOfController("rs1")).toBeUndefined();
  });
});

describe("PreferNoSchedule score", () => {
  it("prefers nodes with fewer untolerated PreferNoSchedule taints", () => {
    const spot = { key: "spot", value: "true", effect: "PreferNoSchedule" };
    const old = { key: "old", effect: "PreferNoSchedule" };
    const ns = nodes({ taints: [spot, old] }, { taints: [spot] }, {});
    expect(scoresOf(preferNoScheduleScore, makePod("p"), ns)).toEqual([0, 50, 100]);
    const tolerant = makePod("p", {
      tolerations: [{ key: "spot", operator: "Exists", effect: "PreferNoSchedule" }],
    });
    expect(scoresOf(preferNoScheduleScore, tolerant, ns)).toEqual([0, 100, 100]);
  });
});

describe("fewerIsBetter", () => {
  it("maps counts to 100..0 and all-zero to 100", () => {
    const s = new Float64Array([0, 1, 2, 9]);
    fewerIsBetter(s, 3);
    expect([...s]).toEqual([100, 50, 0, 9]);
    const z = new Float64Array([0, 0]);
    fewerIsBetter(z, 2);
    expect([...z]).toEqual([100, 100]);
  });
});
