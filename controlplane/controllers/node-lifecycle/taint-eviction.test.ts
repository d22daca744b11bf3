import { describe, expect, it } from "vitest";
import type { Pod, Taint, Toleration } from "../../../proto/gen/api.js";
import {
  effectiveTolerations,
  evictionTime,
  notReadyTaintKey,
  unreachableTaintKey,
} from "./taint-eviction.js";

const t0 = Date.parse("2024-01-01T12:00:00Z");
const at = (s: number) => t0 + s * 1000;
const unreachable: Taint = {
  key: unreachableTaintKey,
  effect: "NoExecute",
  timeAdded: "2024-01-01T12:00:00Z",
};
const noSchedule: Taint = {
  key: unreachableTaintKey,
  effect: "NoSchedule",
  timeAdded: "2024-01-01T12:00:00Z",
};
const dedicated: Taint = {
  key: "dedicated",
  value: "db",
  effect: "NoExecute",
  timeAdded: "2024-01-01T12:01:00Z",
};

const pod = (tolerations?: Toleration[]): Pod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p" },
  spec: { containers: [], ...(tolerations ? { tolerations } : {}) },
});

describe("taint eviction times", () => {
  it.each([
    ["no tolerations: the defaulted 300 s", pod(), [unreachable], at(300)],
    ["a NoSchedule taint never evicts", pod(), [noSchedule], undefined],
    [
      "its own unreachable toleration replaces the default",
      pod([{ key: unreachableTaintKey, operator: "Exists", effect: "NoExecute", tolerationSeconds: 60 }]),
      [unreachable],
      at(60),
    ],
    [
      "a toleration without seconds tolerates for ever",
      pod([{ key: unreachableTaintKey, operator: "Exists", effect: "NoExecute" }]),
      [unreachable],
      undefined,
    ],
    [
      "the shortest matching toleration wins",
      pod([
        { key: unreachableTaintKey, operator: "Exists" },
        { operator: "Exists", effect: "NoExecute", tolerationSeconds: 30 },
      ]),
      [unreachable],
      at(30),
    ],
    ["a taint nothing tolerates: at once (from its timeAdded)", pod(), [unreachable, dedicated], at(60)],
    [
      "a tolerated custom taint for 10 s after it was added",
      pod([{ key: "dedicated", value: "db", effect: "NoExecute", tolerationSeconds: 10 }]),
      [dedicated],
      at(70),
    ],
    [
      "negative seconds count as zero",
      pod([{ operator: "Exists", tolerationSeconds: -5 }]),
      [unreachable],
      at(0),
    ],
  ] as const)("%s", (_name, p, taints, want) => {
    expect(evictionTime(p, taints, 300, at(999))).toBe(want);
  });

  it("starts a taint without timeAdded at the fallback time", () => {
    expect(evictionTime(pod(), [{ key: unreachableTaintKey, effect: "NoExecute" }], 120, at(5))).toBe(
      at(125),
    );
  });

  it("adds the default tolerations only for keys the pod does not tolerate itself", () => {
    const own: Toleration = {
      key: notReadyTaintKey,
      operator: "Exists",
      effect: "NoExecute",
      tolerationSeconds: 1,
    };
    expect(effectiveTolerations(pod([own]), 300)).toEqual([
      own,
      { key: unreachableTaintKey, operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
    ]);
    expect(effectiveTolerations(pod([{ operator: "Exists" }]), 300)).toEqual([{ operator: "Exists" }]);
  });
});
