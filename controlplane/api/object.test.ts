import { describe, expect, it } from "vitest";
import { objectKey } from "./object.js";

describe("objectKey", () => {
  it("joins namespace and name, or is the name alone for cluster-scoped objects", () => {
    expect(objectKey({ metadata: { namespace: "demo", name: "web" } })).toBe("demo/web");
    expect(objectKey({ metadata: { name: "node-1" } })).toBe("node-1");
  });
});
