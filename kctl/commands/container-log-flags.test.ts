import { describe, expect, it } from "vitest";
import { parseFlags } from "../testing/parse-flags.js";
import {
  containerLogMaxFilesFlag,
  containerLogMaxSizeFlag,
  logRotationOption,
} from "./container-log-flags.js";

const command = { name: "join", flags: [containerLogMaxSizeFlag, containerLogMaxFilesFlag] };
const parse = (...argv: string[]) => parseFlags(command, argv);

describe("--container-log-max-size / --container-log-max-files", () => {
  it("gives the rotation, the other flag keeping its default, and nothing when both are absent", async () => {
    expect(logRotationOption(await parse())).toEqual({});
    expect(
      logRotationOption(await parse("--container-log-max-size", "1Mi", "--container-log-max-files", "3")),
    ).toEqual({
      logRotation: { maxBytes: 1 << 20, maxFiles: 3 },
    });
    expect(logRotationOption(await parse("--container-log-max-files", "2"))).toEqual({
      logRotation: { maxBytes: 10 << 20, maxFiles: 2 },
    });
  });

  it("refuses what the runtime would not take, naming the flag", async () => {
    await expect(async () =>
      logRotationOption(await parse("--container-log-max-size", "lots")),
    ).rejects.toThrow('--container-log-max-size: "lots" is not a size (e.g. 10Mi, 500Ki)');
    await expect(async () =>
      logRotationOption(await parse("--container-log-max-size", "1Ki")),
    ).rejects.toThrow("--container-log-max-size: 1Ki must be a whole number of bytes from 4Ki to 1Ti");
    await expect(async () =>
      logRotationOption(await parse("--container-log-max-files", "1")),
    ).rejects.toThrow("--container-log-max-files: 1 must be from 2 to 1000");
  });
});
