import { describe, expect, it } from "vitest";
import type { PodDisruptionBudget, PodDisruptionBudgetSpec } from "../../proto/gen/api.js";
import { resourceForKind } from "../api/resources.js";
import { kindFor, validateObject } from "./index.js";

const info = resourceForKind("policy/v1", "PodDisruptionBudget")!;

const pdb = (spec: PodDisruptionBudgetSpec): PodDisruptionBudget => ({
  apiVersion: "policy/v1",
  kind: "PodDisruptionBudget",
  metadata: { name: "web", namespace: "default" },
  spec: { selector: { matchLabels: { app: "web" } }, ...spec },
});

const fields = (p: PodDisruptionBudget) =>
  validateObject(info, p as never).map((c) => `${c.field}: ${c.message}`);

describe("PodDisruptionBudget", () => {
  it.each([{ minAvailable: 2 }, { maxUnavailable: "25%" }, {}, { minAvailable: "100%" }])(
    "accepts %j",
    (spec) => {
      expect(fields(pdb(spec))).toEqual([]);
    },
  );

  it.each([
    [{ minAvailable: 1, maxUnavailable: 1 }, "spec: Invalid value"],
    [{ minAvailable: 1, maxUnavailable: 1 }, "minAvailable and maxUnavailable cannot be both set"],
    [{ minAvailable: -1 }, "spec.minAvailable: Invalid value: -1: must be greater than or equal to 0"],
    [{ maxUnavailable: "150%" }, 'spec.maxUnavailable: Invalid value: "150%": must not be greater than 100%'],
    [{ maxUnavailable: "ten" }, "spec.maxUnavailable: Invalid value"],
    [
      { minAvailable: 1, unhealthyPodEvictionPolicy: "Never" },
      "spec.unhealthyPodEvictionPolicy: Unsupported value",
    ],
  ] as [PodDisruptionBudgetSpec, string][])("refuses %j naming the field", (spec, want) => {
    expect(fields(pdb(spec)).join("\n")).toContain(want);
  });

  it("prints kubectl's columns, N/A for the bound not set", () => {
    const p = pdb({ minAvailable: 2 });
    p.status = { disruptionsAllowed: 1 };
    const kind = kindFor(info)!;
    expect(kind.columns!.headers).toEqual(["MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"]);
    expect(kind.columns!.cells(p as never, Date.now()).slice(0, 3)).toEqual(["2", "N/A", "1"]);
  });
});
