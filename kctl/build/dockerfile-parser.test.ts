import { describe, expect, it } from "vitest";
import { parseDockerfile } from "./dockerfile-parser.js";

const parse = (text: string) => parseDockerfile(text, "Dockerfile");

describe("parseDockerfile", () => {
  it("reads keywords case-insensitively, with the line each starts on", () => {
    const { instructions } = parse("from busybox\n\nrun echo hi\nCmd sh\n");
    expect(instructions.map((i) => [i.line, i.keyword, i.args])).toEqual([
      [1, "FROM", "busybox"],
      [3, "RUN", "echo hi"],
      [4, "CMD", "sh"],
    ]);
  });

  it("joins continuations and drops comments and blank lines inside them", () => {
    const text = "FROM a\nRUN echo one \\\n# a comment\n\n   two \\  \n three\nUSER x\n";
    const { instructions } = parse(text);
    expect(instructions[1]).toMatchObject({ line: 2, keyword: "RUN", args: "echo one    two  three" });
    expect(instructions[2]).toMatchObject({ line: 7, keyword: "USER" });
  });

  it("reads parser directives only at the top", () => {
    const top = parse("# syntax=docker/dockerfile:1\n# escape=`\nFROM a\nRUN a `\n b\n");
    expect(top.directives.get("syntax")).toBe("docker/dockerfile:1");
    expect(top.escape).toBe("`");
    expect(top.instructions[1]!.args).toBe("a  b");
    const late = parse("# hello\n# escape=`\nFROM a\nRUN a \\\n b\n");
    expect(late.escape).toBe("\\");
    expect(late.directives.size).toBe(0);
  });

  it("takes leading flags of the instructions that have them", () => {
    const { instructions } = parse(
      "FROM --platform=linux/amd64 a AS b\nCOPY --from=b --chmod=644 x /y\nENV --no=flag\n",
    );
    expect([...instructions[0]!.flags]).toEqual([["platform", "linux/amd64"]]);
    expect(instructions[0]!.args).toBe("a AS b");
    expect([...instructions[1]!.flags]).toEqual([
      ["from", "b"],
      ["chmod", "644"],
    ]);
    expect(instructions[2]!.flags.size).toBe(0);
    expect(instructions[2]!.args).toBe("--no=flag");
  });

  it("recognises the JSON form, and falls back to shell form when it is not a list of strings", () => {
    const { instructions } = parse('FROM a\nCMD ["sh", "-c", "echo"]\nRUN [not json\nENTRYPOINT [1]\n');
    expect(instructions[1]!.json).toEqual(["sh", "-c", "echo"]);
    expect(instructions[2]!.json).toBeUndefined();
    expect(instructions[3]!.json).toBeUndefined();
  });

  it("refuses what it cannot read, naming the line", () => {
    expect(() => parse("FROM a\n  123 x\n")).toThrow(/^Dockerfile:2: expected an instruction/);
    expect(() => parse("# escape=x\nFROM a\n")).toThrow(/^Dockerfile:1: escape directive/);
    expect(() => parse("FROM a\nRUN <<EOF\necho\nEOF\n")).toThrow(/^Dockerfile:2: RUN: here-documents/);
    expect(() => parse("FROM a\nCOPY --from=a --from=b x y\n")).toThrow(
      /^Dockerfile:2: COPY: flag --from given twice/,
    );
  });
});
