import { describe, expect, it } from "vitest";
import { type Copy, overlapsOf } from "./copy-overlaps.js";

const copy = (
  host: string,
  startMs: number,
  lastSeenMs: number,
  goneMs?: number,
  identity = "ns/db-0",
): Copy => ({
  identity,
  host,
  container: `${host}-c`,
  startMs,
  lastSeenMs,
  ...(goneMs === undefined ? {} : { goneMs }),
});

describe("overlapsOf", () => {
  it("finds none when the copy elsewhere starts after the first is gone", () => {
    expect(overlapsOf([copy("node2", 0, 1_000, 1_250), copy("node3", 7_000, 9_000)])).toEqual([]);
  });

  it("finds a certain overlap when the second copy started while the first was still seen running", () => {
    expect(overlapsOf([copy("node2", 0, 5_000, 5_250), copy("node3", 3_000, 9_000)])).toEqual([
      {
        identity: "ns/db-0",
        hosts: ["node2", "node3"],
        containers: ["node2-c", "node3-c"],
        fromMs: 3_000,
        toMs: 5_000,
        certain: true,
      },
    ]);
  });

  it("finds a possible overlap when the second copy started between the last sighting and the first miss", () => {
    const [o] = overlapsOf([copy("node2", 0, 5_000, 5_250), copy("node3", 5_100, 9_000)]);
    expect(o).toMatchObject({ fromMs: 5_100, toMs: 5_250, certain: false });
  });

  it("counts a copy still running at the end as running until its last sighting", () => {
    const [o] = overlapsOf([copy("node2", 0, 9_000), copy("node3", 4_000, 9_000)]);
    expect(o).toMatchObject({ fromMs: 4_000, toMs: 9_000, certain: true });
  });

  it("ignores copies on the same host and copies of other identities", () => {
    expect(
      overlapsOf([
        copy("node2", 0, 5_000),
        copy("node2", 1_000, 5_000),
        copy("node3", 1_000, 5_000, undefined, "ns/db-1"),
      ]),
    ).toEqual([]);
  });
});
