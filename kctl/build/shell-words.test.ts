// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are Dockerfile text, where ${name} is literal
import { describe, expect, it } from "vitest";
import { expandWord, expandWords, splitRaw } from "./shell-words.js";

const vars: Record<string, string> = { A: "a", EMPTY: "", SP: "x y" };
const lookup = (n: string) => vars[n];

describe("expandWord / expandWords", () => {
  it.each([
    ["$A", "a"],
    ["${A}b", "ab"],
    ["'$A'", "$A"],
    ['"$A $SP"', "a x y"],
    ["\\$A", "$A"],
    ['"\\"q\\""', '"q"'],
    ["${NOPE:-d}", "d"],
    ["${EMPTY:-d}", "d"],
    ["${EMPTY-d}", ""],
    ["${A:+alt}", "alt"],
    ["${NOPE:+alt}", ""],
    ["${NOPE:-$A}", "a"],
    ["$", "$"],
    ["a$1", "a$1"],
  ])("%s → %s", (text, want) => {
    expect(expandWord(text, lookup, "\\")).toBe(want);
  });

  it("splits words outside quotes only; a value stays in its word", () => {
    expect(expandWords(`a "b c" 'd e' f\\ g $SP`, lookup, "\\")).toEqual(["a", "b c", "d e", "f g", "x y"]);
  });

  it("uses the escape the Dockerfile chose", () => {
    expect(expandWord("`$A\\", lookup, "`")).toBe("$A\\");
  });

  it("refuses a variable nothing defined, bad substitutions and open quotes", () => {
    expect(() => expandWord("$NOPE", lookup, "\\")).toThrow("$NOPE is not defined");
    expect(() => expandWord("${NOPE}", lookup, "\\")).toThrow("$NOPE is not defined");
    expect(() => expandWord("${NOPE:?needed}", lookup, "\\")).toThrow("NOPE: needed");
    expect(() => expandWord("${A", lookup, "\\")).toThrow("missing '}'");
    expect(() => expandWord("${A/x/y}", lookup, "\\")).toThrow("bad substitution");
    expect(() => expandWord('"a', lookup, "\\")).toThrow("unterminated double quote");
  });
});

describe("splitRaw", () => {
  it("keeps quotes and escapes for later expansion", () => {
    expect(splitRaw(`a="b c" d='$e' f=g\\ h`, "\\")).toEqual([`a="b c"`, `d='$e'`, "f=g\\ h"]);
  });
});
