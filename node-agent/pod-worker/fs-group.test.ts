import { chmod, lstat, mkdir, mkdtemp, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { applyFsGroup } from "./fs-group.js";

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("fs-group.test.ts: SKIPPED, needs root (chown to any group)");

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "fsgroup-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const mode = async (p: string) => (await lstat(p)).mode & 0o7777;

describe.skipIf(!isRoot)("applyFsGroup", () => {
  it("group-owns everything, setgid directories, group read-write files", async () => {
    const vol = join(dir, "vol");
    await mkdir(join(vol, "sub/deeper"), { recursive: true });
    await writeFile(join(vol, "a.txt"), "a", { mode: 0o600 });
    await writeFile(join(vol, "sub/deeper/b.sh"), "b", { mode: 0o700 });
    await chmod(vol, 0o700);
    await chmod(join(vol, "sub/deeper"), 0o755);
    await applyFsGroup(vol, 2000);
    for (const p of [
      vol,
      join(vol, "sub"),
      join(vol, "sub/deeper"),
      join(vol, "a.txt"),
      join(vol, "sub/deeper/b.sh"),
    ])
      expect((await lstat(p)).gid, p).toBe(2000);
    expect(await mode(vol)).toBe(0o2770);
    expect(await mode(join(vol, "sub/deeper"))).toBe(0o2775);
    expect(await mode(join(vol, "a.txt"))).toBe(0o660);
    expect(await mode(join(vol, "sub/deeper/b.sh"))).toBe(0o760);
  });

  it("read-only volumes get group read only", async () => {
    const vol = join(dir, "cm");
    await mkdir(vol, { mode: 0o700 });
    await chmod(vol, 0o700);
    await writeFile(join(vol, "key"), "v", { mode: 0o600 });
    await applyFsGroup(vol, 3000, { readOnly: true });
    expect(await mode(join(vol, "key"))).toBe(0o640);
    expect(await mode(vol)).toBe(0o2750);
  });

  it("never follows a symlink out of the volume", async () => {
    // A container (or an earlier one of the pod) left symlinks to host paths in its emptyDir.
    const host = join(dir, "host");
    await mkdir(join(host, "etc"), { recursive: true });
    await writeFile(join(host, "etc/shadow"), "secret", { mode: 0o600 });
    const vol = join(dir, "vol");
    await mkdir(vol);
    await symlink(join(host, "etc/shadow"), join(vol, "shadow"));
    await symlink(join(host, "etc"), join(vol, "etc"));
    await applyFsGroup(vol, 2000);
    expect((await stat(join(host, "etc/shadow"))).gid).toBe(0);
    expect(await mode(join(host, "etc/shadow"))).toBe(0o600);
    expect((await stat(join(host, "etc"))).gid).toBe(0);
    expect((await lstat(join(vol, "shadow"))).gid).toBe(2000);
  });
});
