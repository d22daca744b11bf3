import { describe, expect, it } from "vitest";
import { parseCommandLine } from "../args.js";
import { imageGcFlags, imageGcOption } from "./image-gc-flags.js";

const command = { name: "join", flags: imageGcFlags };
const parse = (...argv: string[]) =>
  parseCommandLine(["join", ...argv], new Map([["join", command]]), []).flags;

describe("--image-gc-high-threshold / --image-gc-low-threshold", () => {
  it("passes nothing when absent, and fills the other with its default", () => {
    expect(imageGcOption(parse())).toEqual({});
    expect(imageGcOption(parse("--image-gc-high-threshold", "90"))).toEqual({
      imageGc: { highPercent: 90, lowPercent: 80 },
    });
  });

  it("refuses a low threshold above the high one and percentages out of range, naming the flag", () => {
    expect(() => imageGcOption(parse("--image-gc-high-threshold", "70"))).toThrow(
      "--image-gc-low-threshold: 80 must not be above --image-gc-high-threshold (70)",
    );
    expect(() => imageGcOption(parse("--image-gc-low-threshold", "-1"))).toThrow(
      "--image-gc-low-threshold: -1 must be a whole percentage from 0 to 100",
    );
  });
});
