import { describe, expect, it } from "vitest";
import { parseFlags } from "../testing/parse-flags.js";
import { podPidsLimitFlag, podPidsLimitOption } from "./pod-pids-limit-flag.js";

const command = { name: "join", flags: [podPidsLimitFlag] };
const parse = (...argv: string[]) => parseFlags(command, argv);

describe("--pod-pids-limit", () => {
  it("passes a positive limit and -1, and nothing when absent", async () => {
    expect(podPidsLimitOption(await parse("--pod-pids-limit", "512"))).toEqual({ podPidsLimit: 512 });
    expect(podPidsLimitOption(await parse("--pod-pids-limit", "-1"))).toEqual({ podPidsLimit: -1 });
    expect(podPidsLimitOption(await parse())).toEqual({});
  });

  it("refuses 0, other negatives and non-numbers, naming the flag", async () => {
    for (const bad of ["0", "-2"]) {
      await expect(async () => podPidsLimitOption(await parse("--pod-pids-limit", bad))).rejects.toThrow(
        `--pod-pids-limit: ${bad} must be a positive whole number, or -1 for no limit`,
      );
    }
    await expect(parse("--pod-pids-limit", "lots")).rejects.toThrow(
      'invalid argument "lots" for "--pod-pids-limit" flag: must be an integer',
    );
  });
});
