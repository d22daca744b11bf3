import { describe, expect, it } from "vitest";
import { parseCommandLine } from "../args.js";
import {
  containerLogMaxFilesFlag,
  containerLogMaxSizeFlag,
  logRotationOption,
} from "./container-log-flags.js";

const command = { name: "join", flags: [containerLogMaxSizeFlag, containerLogMaxFilesFlag] };
const parse = (...argv: string[]) =>
  parseCommandLine(["join", ...argv], new Map([["join", command]]), []).flags;

describe("--container-log-max-size / --container-log-max-files", () => {
  it("gives the rotation, the other flag keeping its default, and nothing when both are absent", () => {
    expect(logRotationOption(parse())).toEqual({});
    expect(
      logRotationOption(parse("--container-log-max-size", "1Mi", "--container-log-max-files", "3")),
    ).toEqual({
      logRotation: { maxBytes: 1 << 20, maxFiles: 3 },
    });
    expect(logRotationOption(parse("--container-log-max-files", "2"))).toEqual({
      logRotation: { maxBytes: 10 << 20, maxFiles: 2 },
    });
  });

  it("refuses what the runtime would not take, naming the flag", () => {
    expect(() => logRotationOption(parse("--container-log-max-size", "lots"))).toThrow(
      '--container-log-max-size: "lots" is not a size (e.g. 10Mi, 500Ki)',
    );
    expect(() => logRotationOption(parse("--container-log-max-size", "1Ki"))).toThrow(
      "--container-log-max-size: 1Ki must be a whole number of bytes from 4Ki to 1Ti",
    );
    expect(() => logRotationOption(parse("--container-log-max-files", "1"))).toThrow(
      "--container-log-max-files: 1 must be from 2 to 1000",
    );
  });
});
