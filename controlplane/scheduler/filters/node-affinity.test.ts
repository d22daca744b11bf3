import { describe, expect, it } from "vitest";
import type { NodeSelectorTerm } from "../../../proto/gen/api.js";
import { filterReasons, makeNode, makePod } from "../testing/fixtures.js";
import { nodeAffinityFilter } from "./node-affinity.js";

const miss = ["node(s) didn't match Pod's node affinity/selector"];
const labels = { zone: "a", disk: "ssd", cores: "8" };
const required = (...nodeSelectorTerms: NodeSelectorTerm[]) => ({
  requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms },
});
const expr = (key: string, operator: string, values?: string[]): NodeSelectorTerm => ({
  matchExpressions: [{ key, operator, ...(values && { values }) }],
});

describe("NodeAffinity filter", () => {
  it.each([
    ["no selector, no affinity", {}, []],
    ["nodeSelector matches", { nodeSelector: { zone: "a" } }, []],
    ["nodeSelector needs every pair", { nodeSelector: { zone: "a", disk: "hdd" } }, miss],
    ["nodeSelector on a missing label", { nodeSelector: { gpu: "yes" } }, miss],
    ["In", { nodeAffinity: required(expr("zone", "In", ["a", "b"])) }, []],
    ["In, no match", { nodeAffinity: required(expr("zone", "In", ["b"])) }, miss],
    ["NotIn", { nodeAffinity: required(expr("zone", "NotIn", ["b"])) }, []],
    ["NotIn, excluded", { nodeAffinity: required(expr("zone", "NotIn", ["a"])) }, miss],
    ["NotIn on a missing label passes", { nodeAffinity: required(expr("gpu", "NotIn", ["x"])) }, []],
    ["Exists", { nodeAffinity: required(expr("disk", "Exists")) }, []],
    ["DoesNotExist", { nodeAffinity: required(expr("disk", "DoesNotExist")) }, miss],
    ["Gt", { nodeAffinity: required(expr("cores", "Gt", ["4"])) }, []],
    ["Gt, too small", { nodeAffinity: required(expr("cores", "Gt", ["8"])) }, miss],
    ["Lt", { nodeAffinity: required(expr("cores", "Lt", ["16"])) }, []],
    ["Gt on a non-integer label", { nodeAffinity: required(expr("zone", "Gt", ["1"])) }, miss],
    [
      "terms are ORed",
      { nodeAffinity: required(expr("zone", "In", ["b"]), expr("disk", "In", ["ssd"])) },
      [],
    ],
    [
      "expressions within a term are ANDed",
      {
        nodeAffinity: required({
          matchExpressions: [
            { key: "zone", operator: "In", values: ["a"] },
            { key: "disk", operator: "In", values: ["hdd"] },
          ],
        }),
      },
      miss,
    ],
    ["an empty term matches nothing", { nodeAffinity: required({}) }, miss],
    ["no terms match nothing", { nodeAffinity: required() }, miss],
    [
      "matchFields metadata.name",
      { nodeAffinity: required({ matchFields: [{ key: "metadata.name", operator: "In", values: ["n"] }] }) },
      [],
    ],
    [
      "selector and affinity both apply",
      { nodeSelector: { zone: "b" }, nodeAffinity: required(expr("zone", "Exists")) },
      miss,
    ],
    ["unknown operator never matches", { nodeAffinity: required(expr("zone", "Like", ["a"])) }, miss],
  ] as const)("%s", (_name, opts, want) => {
    expect(filterReasons(nodeAffinityFilter, makePod("p", opts), makeNode("n", { labels }))).toEqual(want);
  });
});
