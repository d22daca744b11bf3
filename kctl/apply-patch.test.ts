import { describe, expect, it } from "vitest";
import { jsonEqual, threeWayMergePatch } from "./apply-patch.js";

describe("threeWayMergePatch", () => {
  const original = {
    metadata: { name: "web", labels: { app: "web", tier: "front" } },
    spec: { replicas: 2, template: { spec: { containers: [{ name: "c", image: "nginx:1" }] } } },
  };

  it("is empty when the live object already holds the manifest plus defaults and status", () => {
    const live = {
      metadata: { name: "web", uid: "u1", resourceVersion: "7", labels: { app: "web", tier: "front" } },
      spec: {
        replicas: 2,
        strategy: { type: "RollingUpdate" },
        template: {
          spec: { containers: [{ name: "c", image: "nginx:1", imagePullPolicy: "IfNotPresent" }] },
        },
      },
      status: { readyReplicas: 2 },
    };
    expect(threeWayMergePatch(original, original, live)).toEqual({});
  });

  it("sets changed fields, nulls removed ones and leaves live-only fields alone", () => {
    const modified = {
      metadata: { name: "web", labels: { app: "web" } },
      spec: { replicas: 3, template: { spec: { containers: [{ name: "c", image: "nginx:1" }] } } },
    };
    const live = {
      ...structuredClone(original),
      metadata: { ...original.metadata, uid: "u1" },
      status: { readyReplicas: 2 },
    };
    expect(threeWayMergePatch(original, modified, live)).toEqual({
      metadata: { labels: { tier: null } },
      spec: { replicas: 3 },
    });
  });

  it("replaces a list whole when the manifest's list changed", () => {
    const modified = structuredClone(original);
    modified.spec.template.spec.containers[0]!.image = "nginx:2";
    const live = structuredClone(original);
    (live.spec.template.spec.containers[0] as Record<string, unknown>).imagePullPolicy = "IfNotPresent";
    expect(threeWayMergePatch(original, modified, live)).toEqual({
      spec: { template: { spec: { containers: [{ name: "c", image: "nginx:2" }] } } },
    });
  });

  it("restores fields that drifted from the manifest (someone edited the live object)", () => {
    const live = structuredClone(original);
    live.spec.replicas = 5;
    expect(threeWayMergePatch(original, original, live)).toEqual({ spec: { replicas: 2 } });
  });

  it("deletes nothing without a previous manifest, and adds what is missing", () => {
    const live = { metadata: { name: "web", labels: { extra: "x" } }, spec: { replicas: 2 } };
    expect(threeWayMergePatch(undefined, original, live)).toEqual({
      metadata: { labels: { app: "web", tier: "front" } },
      spec: { template: original.spec.template },
    });
  });

  it("does not delete a removed field the live object no longer has", () => {
    const modified = { metadata: { name: "web" } };
    const live = { metadata: { name: "web" } };
    expect(threeWayMergePatch({ metadata: { name: "web" }, data: { a: "1" } }, modified, live)).toEqual({});
  });

  it("treats a number in the manifest as equal to the server's string quantity", () => {
    const m = { spec: { resources: { limits: { cpu: 1 } } } };
    expect(threeWayMergePatch(m, m, { spec: { resources: { limits: { cpu: "1" } } } })).toEqual({});
  });
});

describe("jsonEqual", () => {
  it("ignores key order and compares lists in order", () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
  });
});
