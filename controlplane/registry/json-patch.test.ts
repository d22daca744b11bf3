// biome-ignore-all lint/suspicious/noExplicitAny: checks read patched documents
import { describe, expect, it } from "vitest";
import { ApiError } from "../../foundation/api/errors.js";
import { applyJsonPatch } from "./json-patch.js";

const doc = () => ({
  metadata: { name: "web", annotations: { "a/b": "1", "c~d": "2" } },
  spec: { replicas: 2, list: ["x", "y"], nested: { keep: true } },
});

function reason(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    return err instanceof ApiError ? `${err.reason}: ${err.message}` : String(err);
  }
  return "no error";
}

describe("JSON Patch (RFC 6902)", () => {
  it.each([
    ["add to an object", [{ op: "add", path: "/spec/new", value: 1 }], (d: any) => d.spec.new === 1],
    [
      "add into an array at an index",
      [{ op: "add", path: "/spec/list/1", value: "m" }],
      (d: any) => d.spec.list.join() === "x,m,y",
    ],
    [
      "append with -",
      [{ op: "add", path: "/spec/list/-", value: "z" }],
      (d: any) => d.spec.list.join() === "x,y,z",
    ],
    ["remove", [{ op: "remove", path: "/spec/list/0" }], (d: any) => d.spec.list.join() === "y"],
    ["replace", [{ op: "replace", path: "/spec/replicas", value: 5 }], (d: any) => d.spec.replicas === 5],
    [
      "escaped pointers",
      [
        { op: "remove", path: "/metadata/annotations/a~1b" },
        { op: "replace", path: "/metadata/annotations/c~0d", value: "3" },
      ],
      (d: any) => JSON.stringify(d.metadata.annotations) === '{"c~d":"3"}',
    ],
    [
      "move",
      [{ op: "move", from: "/spec/nested", path: "/spec/moved" }],
      (d: any) => d.spec.moved.keep && !d.spec.nested,
    ],
    [
      "copy is deep",
      [
        { op: "copy", from: "/spec/nested", path: "/spec/copied" },
        { op: "replace", path: "/spec/copied/keep", value: false },
      ],
      (d: any) => d.spec.nested.keep && !d.spec.copied.keep,
    ],
    [
      "a passing test",
      [{ op: "test", path: "/spec/nested", value: { keep: true } }],
      (d: any) => d.spec.replicas === 2,
    ],
  ])("%s", (_name, patch, check) => {
    const target = doc();
    const out = applyJsonPatch(target, patch);
    expect(check(out)).toBe(true);
    expect(target).toEqual(doc());
  });

  it("refuses malformed documents with BadRequest naming the operation", () => {
    expect(reason(() => applyJsonPatch(doc(), { op: "add" }))).toMatch(
      /^BadRequest: a JSON Patch must be a JSON array/,
    );
    expect(reason(() => applyJsonPatch(doc(), [{ op: "frob", path: "/a" }]))).toMatch(
      /^BadRequest: operation 0: "op" must be one of/,
    );
    expect(reason(() => applyJsonPatch(doc(), [{ op: "add", path: "/a" }]))).toMatch(
      /^BadRequest: operation 0 \(add\): "value" is required/,
    );
    expect(reason(() => applyJsonPatch(doc(), [{ op: "remove", path: "a" }]))).toMatch(/not a JSON Pointer/);
    expect(reason(() => applyJsonPatch(doc(), [{ op: "copy", path: "/a" }]))).toMatch(
      /"from" must be a string/,
    );
  });

  it("fails as a whole with Invalid when an operation cannot apply", () => {
    const target = doc();
    expect(
      reason(() =>
        applyJsonPatch(target, [
          { op: "replace", path: "/spec/replicas", value: 9 },
          { op: "test", path: "/spec/replicas", value: 2 },
        ]),
      ),
    ).toMatch(/^Invalid: .*operation 1 \(test \/spec\/replicas\): test failed/);
    expect(target.spec.replicas).toBe(2);
    expect(reason(() => applyJsonPatch(target, [{ op: "remove", path: "/spec/missing" }]))).toMatch(
      /does not exist/,
    );
    expect(reason(() => applyJsonPatch(target, [{ op: "replace", path: "/spec/list/5", value: 1 }]))).toMatch(
      /out of range/,
    );
    expect(reason(() => applyJsonPatch(target, [{ op: "add", path: "/nope/deeper", value: 1 }]))).toMatch(
      /does not exist/,
    );
    expect(
      reason(() => applyJsonPatch(target, [{ op: "move", from: "/spec", path: "/spec/inner" }])),
    ).toMatch(/into itself/);
  });
});
