import { describe, expect, it } from "vitest";
import { applyStrategicMergePatch } from "./merge-patch.js";

describe("strategic merge patch directives", () => {
  const containers = [
    { name: "a", image: "a:1" },
    { name: "b", image: "b:1" },
    { name: "c", image: "c:1" },
  ];

  it("$setElementOrder orders a merged list as the client has it; unnamed items follow", () => {
    const out = applyStrategicMergePatch(
      { spec: { containers } },
      {
        spec: {
          "$setElementOrder/containers": [{ name: "c" }, { name: "a" }],
          containers: [{ name: "a", image: "a:2" }],
        },
      },
    ) as { spec: { containers: { name: string; image: string }[] } };
    expect(out.spec.containers).toEqual([
      { name: "c", image: "c:1" },
      { name: "a", image: "a:2" },
      { name: "b", image: "b:1" },
    ]);
    const prims = applyStrategicMergePatch(
      { metadata: { finalizers: ["x", "y", "z"] } },
      { metadata: { "$setElementOrder/finalizers": ["z", "x"] } },
    );
    expect(prims).toEqual({ metadata: { finalizers: ["z", "x", "y"] } });
  });

  it("$retainKeys drops the fields it does not list (a strategy switched to Recreate loses rollingUpdate)", () => {
    const out = applyStrategicMergePatch(
      { spec: { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } } } },
      { spec: { strategy: { $retainKeys: ["type"], type: "Recreate" } } },
    );
    expect(out).toEqual({ spec: { strategy: { type: "Recreate" } } });
    expect(() => applyStrategicMergePatch({}, { spec: { $retainKeys: "type" } })).toThrow(/\$retainKeys/);
  });
});
