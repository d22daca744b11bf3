import { describe, expect, it } from "vitest";
import { isApiError } from "./errors.js";
import {
  formatSelector,
  labelValueErrors,
  matchesSelector,
  parseSelector,
  qualifiedNameErrors,
  selectorFromLabelSelector,
} from "./labels.js";

describe("parseSelector", () => {
  it("parses every operator and formats canonically (sorted by key)", () => {
    const sel = parseSelector("a=b, c!=d,e in (y, x),f notin (z),g,!h,i==j,k>3,l<10");
    expect(sel.requirements.map((r) => r.operator)).toEqual([
      "Equals",
      "NotEquals",
      "In",
      "NotIn",
      "Exists",
      "DoesNotExist",
      "Equals",
      "Gt",
      "Lt",
    ]);
    expect(formatSelector(sel)).toBe("a=b,c!=d,e in (x,y),f notin (z),g,!h,i=j,k>3,l<10");
    expect(parseSelector(formatSelector(sel))).toEqual(sel);
  });

  it("treats a blank string as everything", () => {
    expect(parseSelector("").requirements).toEqual([]);
    expect(parseSelector("   ").requirements).toEqual([]);
    expect(matchesSelector(parseSelector(""), undefined)).toBe(true);
  });

  it("accepts prefixed keys and empty values", () => {
    const sel = parseSelector("app.kubernetes.io/name=web,tier=");
    expect(sel.requirements).toEqual([
      { key: "app.kubernetes.io/name", operator: "Equals", values: ["web"] },
      { key: "tier", operator: "Equals", values: [""] },
    ]);
  });

  it.each([
    ["a=b,", "expected a label key at position 4, found end of input"],
    [",a", "expected a label key at position 0"],
    ["a b", 'expected an operator (=, ==, !=, in, notin, >, <) or "," after "a" at position 2'],
    ["a in x", 'expected "(" after "in" at position 5'],
    ["a in (x", 'expected "," or ")" in the value list of "a" at position 7'],
    ["a in ()", "expected a label value at position 6"],
    ["a>x", 'expected an integer after ">" at position 2'],
    ["Foo_=b", 'invalid label key "Foo_"'],
    ["a=b_", 'invalid label value "b_"'],
    ["a=b=c", 'expected "," between requirements at position 3'],
    ["!a=b", 'expected "," between requirements at position 2'],
    [`a=${"x".repeat(64)}`, "must be no more than 63 characters"],
  ])("rejects %j", (text, message) => {
    let caught: unknown;
    try {
      parseSelector(text);
    } catch (err) {
      caught = err;
    }
    expect(isApiError(caught, "BadRequest")).toBe(true);
    expect((caught as Error).message).toContain(`unable to parse label selector "${text}"`);
    expect((caught as Error).message).toContain(message);
  });
});

describe("matchesSelector", () => {
  const labels = { app: "web", tier: "front", n: "5" };
  it.each([
    ["app=web", true],
    ["app=db", false],
    ["app!=db", true],
    ["missing!=x", true],
    ["app in (db,web)", true],
    ["app notin (web)", false],
    ["missing notin (web)", true],
    ["tier", true],
    ["missing", false],
    ["!missing", true],
    ["!tier", false],
    ["app=web,tier=back", false],
    ["n>4", true],
    ["n<5", false],
    ["app>1", false],
  ])("%s → %s", (text, want) => {
    expect(matchesSelector(parseSelector(text), labels)).toBe(want);
  });

  it("does not see inherited properties as labels", () => {
    expect(matchesSelector(parseSelector("constructor"), {})).toBe(false);
  });
});

describe("selectorFromLabelSelector", () => {
  it("combines matchLabels and matchExpressions", () => {
    const sel = selectorFromLabelSelector({
      matchLabels: { app: "web" },
      matchExpressions: [
        { key: "tier", operator: "In", values: ["front", "edge"] },
        { key: "canary", operator: "DoesNotExist" },
      ],
    });
    expect(formatSelector(sel)).toBe("app=web,!canary,tier in (edge,front)");
    expect(matchesSelector(sel, { app: "web", tier: "edge" })).toBe(true);
    expect(matchesSelector(sel, { app: "web", tier: "edge", canary: "1" })).toBe(false);
  });

  it("selects everything when empty", () => {
    expect(matchesSelector(selectorFromLabelSelector({}), { a: "b" })).toBe(true);
  });

  it.each([
    [{ matchExpressions: [{ key: "a", operator: "Equals", values: ["b"] }] }, "matchExpressions[0].operator"],
    [{ matchExpressions: [{ key: "a", operator: "In" }] }, "matchExpressions[0].values: must be specified"],
    [{ matchExpressions: [{ key: "a", operator: "Exists", values: ["x"] }] }, "may not be specified"],
    [{ matchExpressions: [{ key: "a b", operator: "Exists" }] }, "matchExpressions[0].key"],
    [{ matchLabels: { a: "b c" } }, "matchLabels.a"],
  ])("rejects %j", (ls, message) => {
    expect(() => selectorFromLabelSelector(ls)).toThrow(message);
  });
});

describe("label syntax", () => {
  it.each([
    ["app", true],
    ["app.kubernetes.io/name", true],
    ["example.com/My_Name.1", true],
    ["/name", false],
    ["Example.com/name", false],
    ["a/b/c", false],
    ["-app", false],
    ["x".repeat(63), true],
    ["x".repeat(64), false],
    ["", false],
  ])("qualified name %j valid=%s", (key, ok) => {
    expect(qualifiedNameErrors(key).length === 0).toBe(ok);
  });

  it.each([
    ["", true],
    ["v1.2_3-a", true],
    ["-a", false],
    ["a b", false],
    ["x".repeat(64), false],
  ])("label value %j valid=%s", (value, ok) => {
    expect(labelValueErrors(value).length === 0).toBe(ok);
  });
});
