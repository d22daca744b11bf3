/**
 * Root test: the image store against real GNU tar and overlayfs, beneath one scratch dir that is
 * unmounted and removed even when a test fails.
 */
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeScratchDir, mountsBeneath, removeScratchDir } from "../../network/testing/scratch-linux.js";
import { buildBusyboxArchive, buildBusyboxImage } from "./busybox-image.js";
import { ImageError, isImageNotFound } from "./errors.js";
import { ImageStore } from "./image-store.js";
import { writeLayout } from "./testing/layout-writer.js";

const isRoot = process.getuid?.() === 0;

function tarOf(dir: string): Buffer {
  return execFileSync("tar", ["-C", dir, "--numeric-owner", "-cf", "-", "."]);
}

describe.skipIf(!isRoot)("image store (root)", () => {
  let scratch: string;
  let layout: string;
  let store: ImageStore;

  beforeAll(async () => {
    scratch = makeScratchDir("kctl-images");
    layout = join(scratch, "busybox-layout");
    await buildBusyboxImage(layout);
    store = new ImageStore(join(scratch, "state"));
  });
  afterAll(() => {
    removeScratchDir(scratch);
  });

  it("imports the busybox layout under several names and resolves them", async () => {
    const [imported] = await store.importLayout(layout);
    expect(imported!.reference).toBe("docker.io/library/busybox:latest");
    await store.importLayout(layout, { name: "registry.k8s.io/busybox:1.27.2" });
    const a = await store.resolve("busybox");
    const b = await store.resolve("registry.k8s.io/busybox:1.27.2");
    expect(b.imageId).toBe(a.imageId);
    expect(a.config.cmd).toEqual(["sh"]);
    expect(a.config.env[0]).toMatch(/^PATH=/);
    expect(a.layers).toHaveLength(1);
    expect(existsSync(join(a.layers[0]!, "bin", "busybox"))).toBe(true);
    expect(lstatSync(join(a.layers[0]!, "bin", "sh")).isSymbolicLink()).toBe(true);
    const refs = JSON.parse(readFileSync(join(store.dir, "refs.json"), "utf8"));
    expect(Object.keys(refs)).toEqual(["docker.io/library/busybox:latest", "registry.k8s.io/busybox:1.27.2"]);
    expect(readdirSync(join(store.dir, "layers"))).toHaveLength(1);
    const byDigest = await store.resolve(`busybox@${a.manifestDigest}`);
    expect(byDigest.imageId).toBe(a.imageId);
  });

  it("imports a docker-archive tarball and an OCI layout tarball", async () => {
    const archive = join(scratch, "busybox-docker.tar");
    await buildBusyboxArchive(archive, { reference: "example.com/tools/busybox:docker" });
    const [imported] = await store.importArchive(archive);
    expect(imported!.reference).toBe("example.com/tools/busybox:docker");
    const image = await store.resolve("example.com/tools/busybox:docker");
    expect(image.config.cmd).toEqual(["sh"]);
    // Same layer content as the layout's gzip layer: unpacked once, shared.
    expect(image.layers).toEqual((await store.resolve("busybox")).layers);

    const ociTar = join(scratch, "busybox-oci.tar.gz");
    execFileSync("tar", ["-C", layout, "-czf", ociTar, "."]);
    await store.importArchive(ociTar, { name: "oci-tarball" });
    expect((await store.resolve("oci-tarball")).imageId).toBe((await store.resolve("busybox")).imageId);
    expect(readdirSync(join(store.dir, "tmp"))).toEqual([]);
  });

  it("refuses a corrupted blob, naming it, and keeps nothing of the import", async () => {
    const bad = join(scratch, "corrupt-layout");
    const layerDir = join(scratch, "corrupt-src");
    mkdirSync(join(layerDir, "etc"), { recursive: true });
    writeFileSync(join(layerDir, "etc", "motd"), "hello\n");
    writeLayout(bad, [tarOf(layerDir)], "corrupt:v1");
    const index = JSON.parse(readFileSync(join(bad, "index.json"), "utf8"));
    const manifest = JSON.parse(
      readFileSync(join(bad, "blobs", "sha256", index.manifests[0].digest.slice(7)), "utf8"),
    );
    const layerDigest: string = manifest.layers[0].digest;
    const layerPath = join(bad, "blobs", "sha256", layerDigest.slice(7));
    const bytes = readFileSync(layerPath);
    bytes[bytes.length - 5] ^= 0xff;
    writeFileSync(layerPath, bytes);
    const blobsBefore = readdirSync(join(store.dir, "blobs", "sha256")).sort();
    const layersBefore = readdirSync(join(store.dir, "layers")).sort();

    const err = await store.importLayout(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageError);
    expect((err as ImageError).code).toBe("DigestMismatch");
    expect((err as Error).message).toContain(layerDigest);
    expect((err as Error).message).toContain(layerPath);
    expect(readdirSync(join(store.dir, "blobs", "sha256")).sort()).toEqual(blobsBefore);
    expect(readdirSync(join(store.dir, "layers")).sort()).toEqual(layersBefore);
    await expect(store.resolve("corrupt:v1")).rejects.toThrow(/not present/);
  });

  it("refuses a docker archive whose layer does not match the config's diffID", async () => {
    const archive = join(scratch, "tampered.tar");
    await buildBusyboxArchive(archive, { reference: "tampered:v1" });
    const dir = join(scratch, "tampered");
    mkdirSync(dir);
    execFileSync("tar", ["-C", dir, "-xf", archive]);
    const [entry] = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    const layerPath = join(dir, entry.Layers[0]);
    const bytes = readFileSync(layerPath);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    writeFileSync(layerPath, bytes);
    execFileSync("tar", ["-C", dir, "-cf", archive, "."]);
    const layersBefore = readdirSync(join(store.dir, "layers")).sort();
    await expect(store.importArchive(archive)).rejects.toThrow(
      /uncompressed content is sha256:[0-9a-f]{64}, but the image config says/,
    );
    expect(readdirSync(join(store.dir, "layers")).sort()).toEqual(layersBefore);
    await expect(store.resolve("tampered:v1")).rejects.toThrow(/not present/);
  });

  it("refuses a layer that writes through a symlink out of its dir, writing nothing outside", async () => {
    const outside = join(scratch, "outside");
    const src = join(scratch, "escape-src");
    mkdirSync(outside);
    mkdirSync(join(src, "real"), { recursive: true });
    execFileSync("ln", ["-s", outside, join(src, "link")]);
    writeFileSync(join(src, "real", "evil"), "evil");
    const first = execFileSync("tar", ["-C", src, "-cf", "-", "link"]);
    const second = execFileSync("tar", ["-C", src, "--transform=s,^real,link,", "-cf", "-", "real/evil"]);
    // One archive: the symlink's header block, then the second archive (member link/evil).
    const layer = Buffer.concat([first.subarray(0, 512), second]);
    const escapeLayout = join(scratch, "escape-layout");
    writeLayout(escapeLayout, [layer], "escape:v1");
    await expect(store.importLayout(escapeLayout)).rejects.toThrow(
      /entry "link\/evil": its parent "link" is a symlink in the layer/,
    );
    expect(readdirSync(outside)).toEqual([]);
  });

  it("refuses bad input with errors naming the place", async () => {
    await expect(store.importLayout(join(scratch, "nope"))).rejects.toThrow(
      /nope is not an OCI image layout: .*oci-layout is missing/,
    );
    const junk = join(scratch, "junk.tar");
    writeFileSync(junk, "not a tar at all");
    await expect(store.importArchive(junk)).rejects.toThrow(/junk.tar: not a readable tar archive/);
    await expect(store.importLayout(layout, { name: "Bad/Name" })).rejects.toThrow(
      /image reference "Bad\/Name"/,
    );
  });

  it("reports a missing image with a typed NotFound", async () => {
    const err = await store.resolve("registry.k8s.io/pause:3.9").catch((e: unknown) => e);
    expect(isImageNotFound(err)).toBe(true);
    expect((err as Error).message).toContain("registry.k8s.io/pause:3.9");
    await expect(store.prepareRootfs("c-missing", "nothere")).rejects.toThrow(/not present on this node/);
  });

  it("shares layers between two rootfs, each with its own upper dir", async () => {
    const one = await store.prepareRootfs("c1", "busybox");
    const two = await store.prepareRootfs("c2", "registry.k8s.io/busybox:1.27.2");
    try {
      expect(one.image.layers).toEqual(two.image.layers);
      expect(existsSync(join(one.path, "bin", "busybox"))).toBe(true);
      writeFileSync(join(one.path, "tmp", "only-in-c1"), "x");
      expect(existsSync(join(two.path, "tmp", "only-in-c1"))).toBe(false);
      expect(existsSync(join(one.image.layers[0]!, "tmp", "only-in-c1"))).toBe(false);
      const out = execFileSync("chroot", [
        two.path,
        "/bin/sh",
        "-c",
        "echo hi from $(cat /etc/hostname 2>/dev/null || echo rootfs)",
      ]);
      expect(out.toString()).toContain("hi from rootfs");
    } finally {
      await one.release();
      await two.release();
    }
  });

  it("whiteouts and opaque dirs hide lower files in the merged view", async () => {
    const lower = join(scratch, "wh-lower");
    const upper = join(scratch, "wh-upper");
    mkdirSync(join(lower, "data", "sub"), { recursive: true });
    writeFileSync(join(lower, "data", "keep"), "k");
    writeFileSync(join(lower, "data", "gone"), "g");
    writeFileSync(join(lower, "data", "sub", "a"), "a");
    mkdirSync(join(upper, "data", "sub"), { recursive: true });
    writeFileSync(join(upper, "data", ".wh.gone"), "");
    writeFileSync(join(upper, "data", "sub", ".wh..wh..opq"), "");
    writeFileSync(join(upper, "data", "sub", "b"), "b");
    const whLayout = join(scratch, "wh-layout");
    writeLayout(whLayout, [tarOf(lower), tarOf(upper)], "whiteouts:test");
    await store.importLayout(whLayout);
    const image = await store.resolve("whiteouts:test");
    const top = image.layers[1]!;
    const dev = lstatSync(join(top, "data", "gone"));
    expect(dev.isCharacterDevice()).toBe(true);
    expect(dev.rdev).toBe(0);
    expect(existsSync(join(top, "data", ".wh.gone"))).toBe(false);

    const rootfs = await store.prepareRootfs("c-wh", "whiteouts:test");
    try {
      expect(readdirSync(join(rootfs.path, "data")).sort()).toEqual(["keep", "sub"]);
      expect(readdirSync(join(rootfs.path, "data", "sub"))).toEqual(["b"]);
    } finally {
      await rootfs.release();
    }
  });

  it("prepare is idempotent, never stacks, and release unmounts and removes", async () => {
    const first = await store.prepareRootfs("c3", "busybox");
    writeFileSync(join(first.path, "tmp", "kept"), "x");
    const again = await store.prepareRootfs("c3", "busybox");
    expect(again.path).toBe(first.path);
    expect(mountsBeneath(join(store.dir, "rootfs", "c3"))).toEqual([first.path]);
    // A stray second mount on top (as a crash in the middle could leave) is cleaned, not kept.
    execFileSync("mount", ["--bind", first.path, first.path]);
    const repaired = await store.prepareRootfs("c3", "busybox");
    expect(mountsBeneath(join(store.dir, "rootfs", "c3"))).toEqual([repaired.path]);
    expect(existsSync(join(repaired.path, "tmp", "kept"))).toBe(true);

    await repaired.release();
    await repaired.release();
    expect(mountsBeneath(join(store.dir, "rootfs"))).toEqual([]);
    expect(existsSync(join(store.dir, "rootfs", "c3"))).toBe(false);
    await expect(store.prepareRootfs("../x", "busybox")).rejects.toThrow(/containerId/);
  });
});
