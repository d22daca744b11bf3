import { describe, expect, it } from "vitest";
import type { Binding, Scale } from "../../../proto/gen/api.js";
import { decodeMessage } from "../codec.js";
import { validateBinding, validateScale } from "./index.js";

describe("subresource bodies", () => {
  it("accepts a valid Scale and refuses negative or missing replicas", () => {
    const scale = (spec: unknown) =>
      decodeMessage<Scale>("Scale", {
        apiVersion: "autoscaling/v1",
        kind: "Scale",
        metadata: { name: "web" },
        spec,
      });
    expect(validateScale(scale({ replicas: 3 }))).toEqual([]);
    expect(validateScale(scale({ replicas: -1 }))).toEqual([
      {
        field: "spec.replicas",
        reason: "FieldValueInvalid",
        message: "Invalid value: -1: must be greater than or equal to 0",
      },
    ]);
    expect(validateScale(scale({}))[0]).toMatchObject({
      field: "spec.replicas",
      reason: "FieldValueRequired",
    });
  });

  it("accepts a Binding to a node and refuses a missing or non-node target", () => {
    const binding = (target: unknown) =>
      decodeMessage<Binding>("Binding", {
        apiVersion: "v1",
        kind: "Binding",
        metadata: { name: "web-0" },
        target,
      });
    expect(validateBinding(binding({ apiVersion: "v1", kind: "Node", name: "node-1" }))).toEqual([]);
    expect(validateBinding(binding({ kind: "Node" }))[0]).toMatchObject({
      field: "target.name",
      reason: "FieldValueRequired",
    });
    expect(validateBinding(binding({ kind: "Pod", name: "x" }))[0]).toMatchObject({
      field: "target.kind",
      reason: "FieldValueNotSupported",
    });
  });
});
