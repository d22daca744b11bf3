import { describe, expect, it } from "vitest";
import { filterReasons, makeNode, makePod } from "../testing/fixtures.js";
import { nodeUnschedulableFilter } from "./node-unschedulable.js";

const tolerateCordon = [
  { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
];

describe("NodeUnschedulable filter", () => {
  it.each([
    ["a ready, schedulable node", makeNode("n"), makePod("p"), []],
    ["a not-ready node", makeNode("n", { ready: false }), makePod("p"), ["node(s) were not ready"]],
    ["a cordoned node", makeNode("n", { unschedulable: true }), makePod("p"), ["node(s) were unschedulable"]],
    [
      "a cordoned node, pod tolerates cordon",
      makeNode("n", { unschedulable: true }),
      makePod("p", { tolerations: tolerateCordon }),
      [],
    ],
    [
      "a cordoned, not-ready node",
      makeNode("n", { unschedulable: true, ready: false }),
      makePod("p"),
      ["node(s) were not ready"],
    ],
  ])("%s", (_name, node, pod, want) => {
    expect(filterReasons(nodeUnschedulableFilter, pod, node)).toEqual(want);
  });

  it("treats a node without a Ready condition as not ready", () => {
    const node = makeNode("n");
    node.status!.conditions = [];
    expect(filterReasons(nodeUnschedulableFilter, makePod("p"), node)).toEqual(["node(s) were not ready"]);
  });
});
