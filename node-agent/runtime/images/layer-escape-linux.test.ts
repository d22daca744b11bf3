/**
 * Root test, written as an attacker: image layers and archives built to leave the layer dir (names
 * with `..`, absolute names, symlinked parents, hard links out, whiteouts of `..`), to plant device
 * nodes, to fill the disk (gzip bombs), or to make the store read node files through symlinked
 * layout blobs. Each attempt must be refused for the stated reason, and nothing outside the layer
 * may change: canary files beside the store and in a directory the attacks aim at must survive, and
 * a layer imported before must still be there. All of it in one scratch dir, removed afterwards.
 */
import { execFileSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { makeScratchDir, removeScratchDir } from "../../network/testing/scratch-linux.js";
import { ImageError } from "./errors.js";
import { ImageStore } from "./image-store.js";
import { type TarEntry, writeTar } from "./tar-writer.js";
import { writeLayout } from "./testing/layout-writer.js";

const isRoot = process.getuid?.() === 0;

type Entry = TarEntry & { data?: Buffer };
const file = (path: string, text = "owned\n", mode = 0o644): Entry => ({
  path,
  type: "file",
  mode,
  uid: 0,
  gid: 0,
  mtime: 0,
  data: Buffer.from(text),
});
const dir = (path: string): Entry => ({ path, type: "directory", mode: 0o755, uid: 0, gid: 0, mtime: 0 });
const symlink = (path: string, target: string): Entry => ({
  path,
  type: "symlink",
  linkPath: target,
  mode: 0o777,
  uid: 0,
  gid: 0,
  mtime: 0,
});
const hardlink = (path: string, target: string): Entry => ({
  path,
  type: "hardlink",
  linkPath: target,
  mode: 0o644,
  uid: 0,
  gid: 0,
  mtime: 0,
});

describe.skipIf(!isRoot)("layer unpacking under attack (root)", () => {
  let scratch: string;
  let store: ImageStore;
  /** Where the attacks aim: a directory outside the store with a file worth deleting. */
  let target: string;
  let goodLayers: string[];
  let firstLayer: string;
  let n = 0;

  const canaries = () => [join(scratch, "canary"), join(scratch, "state", "canary"), join(target, "victim")];

  /** Imports an image whose one layer is `entries`; returns the error and the layer blob's digest. */
  async function importLayer(entries: Entry[], s = store): Promise<{ err: unknown; digest: string }> {
    const layout = join(scratch, `layout-${++n}`);
    const { layerDigests } = writeLayout(layout, [writeTar(entries)], `attack:v${n}`);
    const err = await s.importLayout(layout).then(
      () => undefined,
      (e: unknown) => e,
    );
    return { err, digest: layerDigests[0]! };
  }

  async function expectRefused(entries: Entry[], reason: RegExp): Promise<void> {
    const { err, digest } = await importLayer(entries);
    expect(err).toBeInstanceOf(ImageError);
    expect((err as Error).message).toContain(digest);
    expect((err as Error).message).toMatch(reason);
    expect((err as ImageError).code).toBe("InvalidImage");
  }

  beforeAll(async () => {
    scratch = makeScratchDir("kctl-escape");
    target = join(scratch, "target");
    store = new ImageStore(join(scratch, "state"));
    const good = join(scratch, "good");
    writeLayout(good, [writeTar([dir("etc"), file("etc/motd", "hello\n")])], "good:v1");
    await store.importLayout(good);
    goodLayers = readdirSync(join(store.dir, "layers"));
    firstLayer = join(store.dir, "layers", goodLayers[0]!);
  });
  afterAll(() => removeScratchDir(scratch));

  beforeEach(() => {
    mkdirSync(target, { recursive: true });
    for (const c of canaries()) writeFileSync(c, "canary\n");
  });

  /** Nothing outside the layer changed and no partial layer is left. */
  function expectNothingOutsideChanged(): void {
    for (const c of canaries()) expect(readFileSync(c, "utf8"), c).toBe("canary\n");
    expect(readdirSync(target).sort()).toEqual(["victim"]);
    expect(readdirSync(join(store.dir, "layers")).sort()).toEqual(goodLayers);
    expect(readFileSync(join(firstLayer, "etc", "motd"), "utf8")).toBe("hello\n");
  }

  it("refuses a whiteout named .wh... at the layer root (it hides '..': every unpacked layer)", async () => {
    await expectRefused(
      [file(".wh...", "")],
      /entry "\.wh\.\.\.": whiteout of "\.\." names no file inside the layer/,
    );
    expectNothingOutsideChanged();
  });

  it("refuses whiteouts of '.' and '..' deeper down, and of nothing", async () => {
    await expectRefused([dir("sub"), file("sub/.wh...", "")], /entry "sub\/\.wh\.\.\.": whiteout of "\.\."/);
    await expectRefused([dir("sub"), file("sub/.wh..", "")], /entry "sub\/\.wh\.\.": whiteout of "\."/);
    await expectRefused([file(".wh.", "")], /entry "\.wh\.": whiteout of ""/);
    expectNothingOutsideChanged();
  });

  it("refuses a whiteout beneath a symlink, which would delete outside the layer", async () => {
    await expectRefused(
      [symlink("a", target), file("a/.wh.victim", "")],
      /entry "a\/\.wh\.victim": its parent "a" is a symlink in the layer/,
    );
    expectNothingOutsideChanged();
  });

  it("refuses names that climb out with '..'", async () => {
    const up = `../../../../../../../..${target}/x`;
    await expectRefused([file(up)], /climbs out of the layer through "\.\."/);
    await expectRefused(
      [dir("a"), file("a/../../x")],
      /entry "a\/\.\.\/\.\.\/x": name climbs out of the layer/,
    );
    expectNothingOutsideChanged();
  });

  it("refuses absolute names", async () => {
    await expectRefused([file(join(target, "x"))], /name is an absolute path/);
    expectNothingOutsideChanged();
  });

  it("refuses writing through a symlink to / made earlier in the same layer", async () => {
    // a -> /, then a/<path of the target dir>/x: the classic layer escape.
    await expectRefused(
      [symlink("a", "/"), file(`a${target}/x`)],
      /its parent "a" is a symlink in the layer; writing through it could leave the layer/,
    );
    await expectRefused([symlink("a", "/"), dir(`a${target}`)], /its parent "a" is a symlink in the layer/);
    // A directory entry over the symlink, then a file beneath it.
    await expectRefused([symlink("d", target), dir("d"), file("d/x")], /a directory over a symlink/);
    expectNothingOutsideChanged();
  });

  it("refuses hard links to files outside the layer", async () => {
    const victim = join(target, "victim");
    await expectRefused([hardlink("h", victim)], /entry "h": hard link target is an absolute path/);
    await expectRefused([hardlink("h", `../../../../../../..${victim}`)], /hard link target climbs out/);
    await expectRefused(
      [symlink("a", "/"), hardlink("h", `a${victim}`)],
      /entry "h": its parent "a" is a symlink in the layer/,
    );
    await expectRefused(
      [hardlink("h", "etc/passwd")],
      /hard link to "etc\/passwd", which is not a file earlier/,
    );
    expectNothingOutsideChanged();
  });

  it("skips device nodes and FIFOs, keeps setuid bits and hard links inside the layer", async () => {
    const entries: Entry[] = [
      dir("dev"),
      { path: "dev/mem", type: "char-device", major: 1, minor: 1, mode: 0o666, uid: 0, gid: 0, mtime: 0 },
      { path: "dev/sda", type: "block-device", major: 8, minor: 0, mode: 0o666, uid: 0, gid: 0, mtime: 0 },
      { path: "pipe", type: "fifo", mode: 0o666, uid: 0, gid: 0, mtime: 0 },
      hardlink("mem-again", "dev/mem"),
      dir("bin"),
      file("bin/su", "#!/bin/sh\n", 0o4755),
      hardlink("bin/su-again", "bin/su"),
      symlink("bin/sh", "/bin/busybox"),
    ];
    const { err } = await importLayer(entries);
    expect(err).toBeUndefined();
    const image = await store.resolve(`attack:v${n}`);
    const layer = image.layers[0]!;
    expect(readdirSync(join(layer, "dev"))).toEqual([]);
    expect(existsSync(join(layer, "pipe"))).toBe(false);
    expect(existsSync(join(layer, "mem-again"))).toBe(false);
    expect(statSync(join(layer, "bin", "su")).mode & 0o7777).toBe(0o4755);
    expect(statSync(join(layer, "bin", "su-again")).ino).toBe(statSync(join(layer, "bin", "su")).ino);
    expect(lstatSync(join(layer, "bin", "sh")).isSymbolicLink()).toBe(true);
    goodLayers = readdirSync(join(store.dir, "layers")).sort();
    expectNothingOutsideChanged();
  });

  it("hashes a layer to its very end, past the end-of-archive marker", async () => {
    // tar pads to whole records, some writers with much more; the diffID covers all of it.
    const layout = join(scratch, "padded");
    const tar = Buffer.concat([writeTar([file("padded")]), Buffer.alloc(4 * 1024 * 1024)]);
    writeLayout(layout, [tar], "padded:v1");
    await store.importLayout(layout);
    goodLayers = readdirSync(join(store.dir, "layers")).sort();
    expectNothingOutsideChanged();
  });

  it("refuses a layer larger than the limit, naming it and the limit, leaving no partial layer", async () => {
    const small = new ImageStore(join(scratch, "state"), { maxLayerBytes: 64 * 1024 });
    const { err, digest } = await importLayer([file("zeros", "\0".repeat(1024 * 1024))], small);
    expect(err).toBeInstanceOf(ImageError);
    expect((err as ImageError).code).toBe("TooLarge");
    expect((err as Error).message).toContain(digest);
    expect((err as Error).message).toContain(
      "uncompressed layer is larger than the limit of 64 KiB (65536 bytes)",
    );
    expect(readdirSync(join(store.dir, "layers")).filter((l) => l.startsWith(".tmp-"))).toEqual([]);
    expectNothingOutsideChanged();
  });

  it("refuses a manifest claiming to be huge before reading it into memory", async () => {
    const layout = join(scratch, "huge-manifest");
    writeLayout(layout, [writeTar([file("m")])], "huge:v1");
    const indexPath = join(layout, "index.json");
    const index = JSON.parse(readFileSync(indexPath, "utf8"));
    index.manifests[0].size = 5 * 1024 * 1024 * 1024;
    writeFileSync(indexPath, JSON.stringify(index));
    const err = await store.importLayout(layout).catch((e: unknown) => e);
    expect((err as ImageError).code).toBe("TooLarge");
    expect((err as Error).message).toMatch(
      /manifests\[0\]: .* of 5368709120 bytes is larger than the limit of 4 MiB/,
    );
    expectNothingOutsideChanged();
  });

  it("refuses an archive larger than the limit, leaving nothing in the store's tmp", async () => {
    const small = new ImageStore(join(scratch, "state"), { maxArchiveBytes: 64 * 1024 });
    const src = join(scratch, "big-src");
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(join(src, "zeros"), Buffer.alloc(1024 * 1024));
    const archive = join(scratch, "big.tar.gz");
    execFileSync("tar", ["-C", src, "-czf", archive, "."]);
    const err = await small.importArchive(archive).catch((e: unknown) => e);
    expect((err as ImageError).code).toBe("TooLarge");
    expect((err as Error).message).toMatch(
      /archive .*big\.tar\.gz: uncompressed archive is larger than the limit of 64 KiB/,
    );
    expect(readdirSync(join(store.dir, "tmp"))).toEqual([]);
    expectNothingOutsideChanged();
  });

  it("refuses an archive entry that climbs out, writing nothing outside", async () => {
    const archive = join(scratch, "evil-archive.tar");
    writeFileSync(archive, writeTar([file("oci-layout", "{}"), file(`../../../../../../..${target}/x`)]));
    await expect(store.importArchive(archive)).rejects.toThrow(
      /evil-archive\.tar: entry ".*": name climbs out/,
    );
    expect(readdirSync(join(store.dir, "tmp"))).toEqual([]);
    expectNothingOutsideChanged();
  });

  it("refuses OCI layout blobs and index files that are symlinks, naming the path", async () => {
    const layout = join(scratch, "symlinked-blob");
    const { layerDigests } = writeLayout(layout, [writeTar([file("x")])], "symlinked:v1");
    // The symlink points at a file with the right content, so only the symlink itself is wrong.
    const blob = join(layout, "blobs", "sha256", layerDigests[0]!.slice(7));
    const elsewhere = join(target, "blob-copy");
    writeFileSync(elsewhere, readFileSync(blob));
    rmSync(blob);
    symlinkSync(elsewhere, blob);
    await expect(store.importLayout(layout)).rejects.toThrow(
      `${blob} is a symlink; image files must be regular files`,
    );
    rmSync(elsewhere);

    const indexLayout = join(scratch, "symlinked-index");
    writeLayout(indexLayout, [writeTar([file("y")])], "symlinked:v2");
    const index = join(indexLayout, "index.json");
    writeFileSync(join(target, "index-copy"), readFileSync(index));
    rmSync(index);
    symlinkSync(join(target, "index-copy"), index);
    await expect(store.importLayout(indexLayout)).rejects.toThrow(`${index} is a symlink`);
    rmSync(join(target, "index-copy"));

    // A symlinked blobs directory is refused the same way.
    const dirLayout = join(scratch, "symlinked-dir");
    writeLayout(dirLayout, [writeTar([file("z")])], "symlinked:v3");
    execFileSync("mv", [join(dirLayout, "blobs"), join(target, "blobs")]);
    symlinkSync(join(target, "blobs"), join(dirLayout, "blobs"));
    await expect(store.importLayout(dirLayout)).rejects.toThrow(`${join(dirLayout, "blobs")} is a symlink`);
    rmSync(join(target, "blobs"), { recursive: true });
    await expect(store.resolve("symlinked:v1")).rejects.toThrow(/not present/);
    expectNothingOutsideChanged();
  });
});
