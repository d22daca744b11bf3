import { describe, expect, it } from "vitest";
import { copyObject } from "./copy-object.js";

describe("copyObject", () => {
  it("copies a JSON-shaped object deeply, sharing nothing with the original", () => {
    const pod = {
      metadata: { name: "a", labels: { app: "web" }, finalizers: ["x"] },
      spec: { containers: [{ name: "c", ports: [{ containerPort: 80 }] }], nodeName: undefined },
      status: { phase: "Running", ready: true, restarts: 0, podIP: null },
    };
    const copy = copyObject(pod);
    expect(copy).toStrictEqual(pod);
    expect(Object.keys(copy.spec)).toEqual(["containers", "nodeName"]);
    copy.metadata.labels.app = "other";
    copy.spec.containers[0]!.ports[0]!.containerPort = 81;
    copy.metadata.finalizers.push("y");
    expect(pod.metadata.labels.app).toBe("web");
    expect(pod.spec.containers[0]!.ports[0]!.containerPort).toBe(80);
    expect(pod.metadata.finalizers).toEqual(["x"]);
  });

  it("returns writable copies of frozen objects", () => {
    const frozen = { metadata: { name: "a" }, items: [1] };
    for (const part of [frozen.metadata, frozen.items, frozen]) Object.freeze(part);
    const copy = copyObject(frozen);
    expect(Object.isFrozen(copy) || Object.isFrozen(copy.metadata) || Object.isFrozen(copy.items)).toBe(
      false,
    );
    copy.metadata.name = "b";
    expect(frozen.metadata.name).toBe("a");
  });

  it("copies values that are not plain objects as structuredClone does", () => {
    const when = new Date(0);
    const copy = copyObject({ when, data: new Map([["k", { v: 1 }]]) });
    expect(copy.when).toBeInstanceOf(Date);
    expect(copy.when).not.toBe(when);
    expect(copy.when.getTime()).toBe(0);
    expect(copy.data.get("k")).toEqual({ v: 1 });
  });
});
