import { describe, expect, it } from "vitest";
import { bytesToFree, checkImageGcThresholds, removalOrder } from "./image-gc.js";

const where = { high: "--image-gc-high-threshold", low: "--image-gc-low-threshold" };

describe("image GC rules", () => {
  it("frees down to the low threshold once usage reaches the high one", () => {
    const t = { highPercent: 85, lowPercent: 80 };
    expect(bytesToFree({ capacity: 1000, used: 849 }, t)).toBe(0);
    expect(bytesToFree({ capacity: 1000, used: 850 }, t)).toBe(50);
    expect(bytesToFree({ capacity: 1000, used: 990 }, t)).toBe(190);
  });

  it("orders unused images least recently used first and leaves used ones out", () => {
    const images = [
      { manifestDigest: "sha256:b", lastUsedMs: 30 },
      { manifestDigest: "sha256:a", lastUsedMs: 10 },
      { manifestDigest: "sha256:c", lastUsedMs: 20 },
    ];
    expect(removalOrder(images, new Set(["sha256:c"])).map((i) => i.manifestDigest)).toEqual([
      "sha256:a",
      "sha256:b",
    ]);
  });

  it("refuses thresholds out of range or low above high, naming the flag", () => {
    expect(() => checkImageGcThresholds({ highPercent: 101, lowPercent: 80 }, where)).toThrow(
      "--image-gc-high-threshold: 101 must be a whole percentage from 0 to 100",
    );
    expect(() => checkImageGcThresholds({ highPercent: 70, lowPercent: 80 }, where)).toThrow(
      "--image-gc-low-threshold: 80 must not be above --image-gc-high-threshold (70)",
    );
  });
});
