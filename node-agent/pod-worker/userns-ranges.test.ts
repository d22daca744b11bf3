import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { USERNS_SIZE, UserNamespaceRanges } from "./userns-ranges.js";

let stateDir: string;

beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "userns-"));
});

afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

const overlaps = (a: { hostId: number; size: number }, b: { hostId: number; size: number }) =>
  a.hostId < b.hostId + b.size && b.hostId < a.hostId + a.size;

describe("UserNamespaceRanges", () => {
  it("gives each pod its own 65536 ids above the host's, never overlapping, idempotently", async () => {
    const ranges = new UserNamespaceRanges(stateDir);
    const got = await Promise.all(["a", "b", "c", "a", "d"].map((uid) => ranges.allocate(uid)));
    expect(got.map((r) => r.hostId)).toEqual([65536, 131072, 196608, 65536, 262144]);
    const distinct = [got[0]!, got[1]!, got[2]!, got[4]!];
    for (const [i, a] of distinct.entries()) {
      expect(a.size).toBe(USERNS_SIZE);
      expect(a.hostId).toBeGreaterThanOrEqual(USERNS_SIZE);
      for (const b of distinct.slice(i + 1)) expect(overlaps(a, b)).toBe(false);
    }
  });

  it("reuses a released range", async () => {
    const ranges = new UserNamespaceRanges(stateDir);
    await ranges.allocate("a");
    const b = await ranges.allocate("b");
    await ranges.allocate("c");
    await ranges.release("b");
    await ranges.release("b");
    expect(await ranges.allocate("d")).toEqual(b);
    expect((await ranges.holders()).sort()).toEqual(["a", "c", "d"]);
  });

  it("keeps ranges across a restart and never hands a held one to another pod", async () => {
    const first = new UserNamespaceRanges(stateDir);
    const a = await first.allocate("a");
    const b = await first.allocate("b");
    await first.release("a");
    const restarted = new UserNamespaceRanges(stateDir);
    expect(await restarted.allocate("b")).toEqual(b);
    expect(await restarted.allocate("c")).toEqual(a);
    expect((await restarted.allocate("d")).hostId).toBe(3 * USERNS_SIZE);
    expect((await readdir(join(stateDir, "userns"))).sort()).toEqual(["0", "1", "2"]);
  });

  it("says so when every range is held", async () => {
    const ranges = new UserNamespaceRanges(stateDir, 2);
    await ranges.allocate("a");
    await ranges.allocate("b");
    await expect(ranges.allocate("c")).rejects.toThrow(
      "no free user namespace range: all 2 ranges of 65536 ids are held by pods",
    );
    await ranges.release("a");
    expect((await ranges.allocate("c")).hostId).toBe(USERNS_SIZE);
  });
});
