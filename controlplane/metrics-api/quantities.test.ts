import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration, formatNanoCores } from "./quantities.js";

describe("metrics quantities", () => {
  it.each([
    [0, "0"],
    [123456, "123456n"],
    [1_500_000, "1500u"],
    [250_000_000, "250m"],
    [2_000_000_000, "2"],
  ])("cpu %d nanocores → %s", (n, want) => expect(formatNanoCores(n)).toBe(want));

  it("memory in binary units when exact, bytes otherwise", () => {
    expect(formatBytes(1 << 20)).toBe("1Mi");
    expect(formatBytes(1000)).toBe("1000");
  });

  it("windows as Go durations", () => {
    expect(formatDuration(15_000)).toBe("15s");
    expect(formatDuration(15_250)).toBe("15.25s");
    expect(formatDuration(60_500)).toBe("1m0.5s");
  });
});
