import { describe, expect, it } from "vitest";
import { deepFreeze, splitKey } from "./readonly.js";

describe("splitKey", () => {
  it.each([
    ["default/web", { namespace: "default", name: "web" }],
    ["node-1", { namespace: "", name: "node-1" }],
  ])("splits %s", (key, want) => expect(splitKey(key)).toEqual(want));

  it.each(["", "/x", "x/", "a/b/c"])("rejects %j, naming the key", (key) => {
    expect(() => splitKey(key)).toThrow(`malformed key "${key}"`);
  });
});

describe("deepFreeze", () => {
  it("freezes nested objects and arrays", () => {
    const obj = deepFreeze({ a: { b: [1, { c: 2 }] } });
    expect(Object.isFrozen(obj.a.b[1])).toBe(true);
    expect(() => {
      (obj.a.b as number[]).push(3);
    }).toThrow(TypeError);
  });
});
