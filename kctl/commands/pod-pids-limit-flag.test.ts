import { describe, expect, it } from "vitest";
import { parseCommandLine } from "../args.js";
import { podPidsLimitFlag, podPidsLimitOption } from "./pod-pids-limit-flag.js";

const command = { name: "join", flags: [podPidsLimitFlag] };
const parse = (...argv: string[]) =>
  parseCommandLine(["join", ...argv], new Map([["join", command]]), []).flags;

describe("--pod-pids-limit", () => {
  it("passes a positive limit and -1, and nothing when absent", () => {
    expect(podPidsLimitOption(parse("--pod-pids-limit", "512"))).toEqual({ podPidsLimit: 512 });
    expect(podPidsLimitOption(parse("--pod-pids-limit", "-1"))).toEqual({ podPidsLimit: -1 });
    expect(podPidsLimitOption(parse())).toEqual({});
  });

  it("refuses 0, other negatives and non-numbers, naming the flag", () => {
    for (const bad of ["0", "-2"]) {
      expect(() => podPidsLimitOption(parse("--pod-pids-limit", bad))).toThrow(
        `--pod-pids-limit: ${bad} must be a positive whole number, or -1 for no limit`,
      );
    }
    expect(() => parse("--pod-pids-limit", "lots")).toThrow(
      'invalid argument "lots" for "--pod-pids-limit" flag: must be an integer',
    );
  });
});
