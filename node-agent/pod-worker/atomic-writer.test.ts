import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Payload, PayloadPathError, writeAtomic } from "./atomic-writer.js";

const payload = (entries: Record<string, string>, mode = 0o644): Payload =>
  new Map(Object.entries(entries).map(([k, v]) => [k, { data: v, mode }]));

describe("writeAtomic", () => {
  let root: string;
  let vol: string;
  let outside: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "atomic-writer-"));
    vol = join(root, "vol");
    outside = join(root, "outside");
    await mkdir(outside);
    await writeFile(join(outside, "canary"), "untouched");
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it("shows the payload through ..data symlinks, with modes, and nested paths", async () => {
    expect(await writeAtomic(vol, payload({ a: "1", "conf/b.yaml": "2" }, 0o600))).toBe(true);
    expect(await readFile(join(vol, "a"), "utf8")).toBe("1");
    expect(await readFile(join(vol, "conf/b.yaml"), "utf8")).toBe("2");
    expect(await readlink(join(vol, "a"))).toBe("..data/a");
    expect((await stat(join(vol, "conf/b.yaml"))).mode & 0o777).toBe(0o600);
    expect((await readlink(join(vol, "..data"))).startsWith("..")).toBe(true);
    // Containers may run as any user: the files' own modes decide, not the version directory's.
    expect((await stat(join(vol, await readlink(join(vol, "..data"))))).mode & 0o777).toBe(0o755);
  });

  it("writes nothing when the payload is unchanged, and swaps versions when it changes", async () => {
    await writeAtomic(vol, payload({ a: "1", b: "2" }));
    const first = await readlink(join(vol, "..data"));
    expect(await writeAtomic(vol, payload({ a: "1", b: "2" }))).toBe(false);
    expect(await writeAtomic(vol, payload({ a: "1" }, 0o640))).toBe(true);
    const entries = (await readdir(vol)).sort();
    const second = await readlink(join(vol, "..data"));
    expect(second).not.toBe(first);
    expect(entries).toEqual([second, "..data", "a"].sort());
  });

  it("replaces symlinks a pod planted instead of writing through them", async () => {
    await writeAtomic(vol, payload({ key: "v1" }));
    // What a pod with the volume writable (or an older agent's layout) could leave behind.
    await rm(join(vol, "key"));
    await symlink(join(outside, "canary"), join(vol, "key"));
    await symlink(join(outside, "canary"), join(vol, "key.tmp"));
    await symlink(outside, join(vol, "..data_tmp"));
    await symlink(outside, join(vol, "nested"));
    await writeAtomic(vol, payload({ key: "secret", "nested/x": "secret" }));
    expect(await readFile(join(outside, "canary"), "utf8")).toBe("untouched");
    expect(await readdir(outside)).toEqual(["canary"]);
    expect(await readlink(join(vol, "key"))).toBe("..data/key");
    expect(await readFile(join(vol, "nested/x"), "utf8")).toBe("secret");
    expect((await lstat(join(vol, "key.tmp")).catch(() => undefined))?.isSymbolicLink()).toBeUndefined();
  });

  it("refuses paths that leave the volume or use the writer's reserved names", async () => {
    for (const bad of ["../x", "/etc/x", "a/../../x", "..data", "..x/y", "a//b", ""]) {
      await expect(writeAtomic(vol, payload({ [bad]: "x" }))).rejects.toBeInstanceOf(PayloadPathError);
    }
    expect(await readdir(root)).toEqual(["outside"]);
  });
});
