import { describe, expect, it } from "vitest";
import { objectKey, setEntry } from "./object.js";

describe("objectKey", () => {
  it("joins namespace and name, or is the name alone for cluster-scoped objects", () => {
    expect(objectKey({ metadata: { namespace: "demo", name: "web" } })).toBe("demo/web");
    expect(objectKey({ metadata: { name: "node-1" } })).toBe("node-1");
  });
});

describe("setEntry", () => {
  it("stores __proto__ as an ordinary key", () => {
    const data: Record<string, string> = {};
    setEntry(data, "__proto__", "x");
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
    expect(JSON.stringify(data)).toBe('{"__proto__":"x"}');
  });
});
