import { describe, expect, it } from "vitest";
import { parseFlags } from "../testing/parse-flags.js";
import { imageGcFlags, imageGcOption } from "./image-gc-flags.js";

const command = { name: "join", flags: imageGcFlags };
const parse = (...argv: string[]) => parseFlags(command, argv);

describe("--image-gc-high-threshold / --image-gc-low-threshold", () => {
  it("passes nothing when absent, and fills the other with its default", async () => {
    expect(imageGcOption(await parse())).toEqual({});
    expect(imageGcOption(await parse("--image-gc-high-threshold", "90"))).toEqual({
      imageGc: { highPercent: 90, lowPercent: 80 },
    });
  });

  it("refuses a low threshold above the high one and percentages out of range, naming the flag", async () => {
    await expect(async () => imageGcOption(await parse("--image-gc-high-threshold", "70"))).rejects.toThrow(
      "--image-gc-low-threshold: 80 must not be above --image-gc-high-threshold (70)",
    );
    await expect(async () => imageGcOption(await parse("--image-gc-low-threshold", "-1"))).rejects.toThrow(
      "--image-gc-low-threshold: -1 must be a whole percentage from 0 to 100",
    );
  });
});
