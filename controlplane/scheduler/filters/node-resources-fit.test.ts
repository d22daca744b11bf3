import { describe, expect, it } from "vitest";
import { filterReasons, makeNode, makePod } from "../testing/fixtures.js";
import { nodeResourcesFitFilter } from "./node-resources-fit.js";

const node = makeNode("n", { cpu: "2", memory: "4Gi", pods: "3" });
const running = [
  makePod("r1", { nodeName: "n", cpu: "500m", memory: "1Gi" }),
  makePod("r2", { nodeName: "n", cpu: "1", memory: "1Gi" }),
];

describe("NodeResourcesFit filter", () => {
  it.each([
    ["fits in what is left", makePod("p", { cpu: "500m", memory: "2Gi" }), []],
    ["cpu over what is left (500m free)", makePod("p", { cpu: "501m" }), ["Insufficient cpu"]],
    ["memory over what is left (2Gi free)", makePod("p", { memory: "2049Mi" }), ["Insufficient memory"]],
    ["both reported", makePod("p", { cpu: "1", memory: "3Gi" }), ["Insufficient cpu", "Insufficient memory"]],
    ["no requests fit anywhere", makePod("p"), []],
    [
      "containers are summed",
      makePod("p", { cpu: "300m", containers: [{ cpu: "300m" }] }),
      ["Insufficient cpu"],
    ],
    // init [1, 200m] vs containers 400m: max(1, 400m) = 1 cpu > 500m free.
    [
      "the largest init container counts",
      makePod("p", { cpu: "400m", init: [{ cpu: "1" }, { cpu: "200m" }] }),
      ["Insufficient cpu"],
    ],
    // init 300m vs containers 250m + 250m = 500m: max = 500m, fits exactly.
    [
      "init smaller than the sum of containers",
      makePod("p", { cpu: "250m", containers: [{ cpu: "250m" }], init: [{ cpu: "300m" }] }),
      [],
    ],
  ])("%s", (_name, pod, want) => {
    expect(filterReasons(nodeResourcesFitFilter, pod, node, running)).toEqual(want);
  });

  it("counts pods against allocatable pods", () => {
    const full = [...running, makePod("r3", { nodeName: "n" })];
    expect(filterReasons(nodeResourcesFitFilter, makePod("p"), node, full)).toEqual(["Too many pods"]);
  });

  it("a node without allocatable pods takes none (as in Kubernetes)", () => {
    const bare = makeNode("n");
    bare.status!.allocatable = { cpu: "4", memory: "8Gi" };
    expect(filterReasons(nodeResourcesFitFilter, makePod("p"), bare)).toEqual(["Too many pods"]);
  });

  it("falls back to capacity when allocatable is absent", () => {
    const n = makeNode("n");
    n.status = { capacity: { cpu: "1", memory: "1Gi", pods: "10" }, conditions: n.status!.conditions! };
    expect(filterReasons(nodeResourcesFitFilter, makePod("p", { cpu: "1" }), n)).toEqual([]);
    expect(filterReasons(nodeResourcesFitFilter, makePod("p", { cpu: "1001m" }), n)).toEqual([
      "Insufficient cpu",
    ]);
  });
});
