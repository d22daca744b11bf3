import { describe, expect, it } from "vitest";
import type { Taint, Toleration } from "../../../proto/gen/api.js";
import { filterReasons, makeNode, makePod } from "../testing/fixtures.js";
import { taintTolerationFilter } from "./taint-toleration.js";

const dedicated: Taint = { key: "dedicated", value: "gpu", effect: "NoSchedule" };
const evict: Taint = { key: "node.kubernetes.io/unreachable", effect: "NoExecute" };
const prefer: Taint = { key: "spot", value: "true", effect: "PreferNoSchedule" };

describe("TaintToleration filter", () => {
  const cases: [string, Taint[], Toleration[], string[]][] = [
    ["no taints", [], [], []],
    ["untolerated NoSchedule", [dedicated], [], ["node(s) had untolerated taint {dedicated: gpu}"]],
    [
      "untolerated NoExecute, empty value",
      [evict],
      [],
      ["node(s) had untolerated taint {node.kubernetes.io/unreachable: }"],
    ],
    ["PreferNoSchedule never rejects", [prefer], [], []],
    [
      "Equal toleration",
      [dedicated],
      [{ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }],
      [],
    ],
    ["default operator is Equal", [dedicated], [{ key: "dedicated", value: "gpu" }], []],
    [
      "wrong value",
      [dedicated],
      [{ key: "dedicated", value: "cpu" }],
      ["node(s) had untolerated taint {dedicated: gpu}"],
    ],
    [
      "wrong effect",
      [dedicated],
      [{ key: "dedicated", value: "gpu", effect: "NoExecute" }],
      ["node(s) had untolerated taint {dedicated: gpu}"],
    ],
    ["Exists on the key", [dedicated], [{ key: "dedicated", operator: "Exists" }], []],
    ["Exists without a key tolerates everything", [dedicated, evict], [{ operator: "Exists" }], []],
    [
      "first untolerated taint is named",
      [evict, dedicated],
      [{ key: "node.kubernetes.io/unreachable", operator: "Exists" }],
      ["node(s) had untolerated taint {dedicated: gpu}"],
    ],
  ];
  it.each(cases)("%s", (_name, taints, tolerations, want) => {
    expect(
      filterReasons(taintTolerationFilter, makePod("p", { tolerations }), makeNode("n", { taints })),
    ).toEqual(want);
  });
});
