import { describe, expect, it } from "vitest";
import { upstreamVersion } from "./busybox-image.js";

describe("upstreamVersion", () => {
  it.each([
    ["1:1.35.0-4+deb12u1+b1", "1.35.0"],
    ["1.36.1-6", "1.36.1"],
    ["1.30.1", "1.30.1"],
  ])("%s → %s", (debian, tag) => expect(upstreamVersion(debian)).toBe(tag));

  it("refuses a version that makes no image tag", () => {
    expect(() => upstreamVersion("1:a+b~c-1")).toThrow(/no valid image tag/);
  });
});
