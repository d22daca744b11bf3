import { describe, expect, it } from "vitest";
import type { ControllerRevision } from "../../proto/gen/api.js";
import { resourceForKind } from "../api/resources.js";
import { kindFor, validateObject } from "./index.js";

const info = resourceForKind("apps/v1", "ControllerRevision")!;

function revision(revision: number, data: Record<string, unknown>): ControllerRevision {
  return {
    apiVersion: "apps/v1",
    kind: "ControllerRevision",
    metadata: {
      name: "fluentd-6b9f8c7d5",
      namespace: "kube-system",
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "DaemonSet", name: "fluentd", uid: "u1", controller: true },
      ],
    },
    data,
    revision,
  };
}

describe("ControllerRevision", () => {
  it("prints its controller as kind.group/name, as kubectl does", () => {
    const cells = kindFor(info)!.columns!.cells(revision(3, {}) as never, Date.now());
    expect(cells.slice(0, 2)).toEqual(["daemonset.apps/fluentd", "3"]);
  });

  it("keeps its data as stored: only the revision number may change", () => {
    const old = revision(1, { spec: { template: { spec: { containers: [{ name: "a", image: "x:1" }] } } } });
    expect(validateObject(info, revision(2, old.data!) as never, old as never)).toEqual([]);
    const changed = revision(1, {
      spec: { template: { spec: { containers: [{ name: "a", image: "x:2" }] } } },
    });
    expect(validateObject(info, changed as never, old as never)).toEqual([
      expect.objectContaining({ field: "data", message: expect.stringContaining("field is immutable") }),
    ]);
    expect(validateObject(info, revision(-1, {}) as never)).toEqual([
      expect.objectContaining({ field: "revision" }),
    ]);
  });
});
