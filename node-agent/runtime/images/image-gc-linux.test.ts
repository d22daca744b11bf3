/**
 * Image GC on a real store in a 32 MiB tmpfs, so usage is the store's own: three images, one used
 * by a container rootfs. Over the high threshold, the least recently used unused image goes first
 * and GC stops once usage is under the low one; with both thresholds at 0 every unused image goes
 * and the used one stays, its rootfs still readable. Root: tmpfs and overlay mounts.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeScratchDir, removeScratchDir } from "../../network/testing/scratch-linux.js";
import { type BuiltImage, writeImageLayout } from "../registry/testing/test-images.js";
import { buildBusyboxImage } from "./busybox-image.js";
import { fsUsage } from "./image-gc.js";
import { ImageStore } from "./image-store.js";

describe.skipIf(process.getuid?.() !== 0)("image GC (root)", () => {
  let scratch: string;
  let store: ImageStore;
  let old: BuiltImage;
  let newer: BuiltImage;
  const blobs = () => readdirSync(join(store.dir, "blobs", "sha256")).map((h) => `sha256:${h}`);
  const names = async () => (await store.list()).map((i) => i.reference).sort();

  beforeAll(async () => {
    scratch = makeScratchDir("kctl-image-gc");
    const fs = join(scratch, "fs");
    mkdirSync(fs);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=32m", "tmpfs", fs]);
    store = new ImageStore(join(fs, "state"));
    await buildBusyboxImage(join(scratch, "busybox"), { reference: "used:1" });
    await store.importLayout(join(scratch, "busybox"));
    // Incompressible layers of 2 MiB, so each image is ~4 MiB with its unpacked layer.
    old = writeImageLayout(join(scratch, "old"), "old:1", { layers: [{ data: randomBytes(2 << 20) }] });
    await store.importLayout(join(scratch, "old"), { name: "old:1" });
    await new Promise((r) => setTimeout(r, 20));
    newer = writeImageLayout(join(scratch, "newer"), "newer:1", { layers: [{ data: randomBytes(2 << 20) }] });
    await store.importLayout(join(scratch, "newer"), { name: "newer:1" });
    await new Promise((r) => setTimeout(r, 20));
    // The used image is the most recently used; GC must keep it whatever its age.
    await store.prepareRootfs("c1", "used:1");
  });
  afterAll(() => {
    if (scratch) removeScratchDir(scratch);
  });

  it("does nothing under the high threshold", async () => {
    expect(await store.garbageCollect({ highPercent: 100, lowPercent: 0 })).toEqual({
      removed: [],
      freedBytes: 0,
    });
    expect(await names()).toEqual([
      "docker.io/library/newer:1",
      "docker.io/library/old:1",
      "docker.io/library/used:1",
    ]);
  });

  it("removes the least recently used unused image first and stops at the low threshold", async () => {
    const usage = await fsUsage(store.dir);
    // Just under current usage: a few hundred KiB to free, which the first image removed covers.
    const low = Math.floor((usage.used * 100) / usage.capacity);
    const result = await store.garbageCollect({ highPercent: low, lowPercent: low });
    expect(result.removed).toEqual(["docker.io/library/old:1"]);
    expect(result.freedBytes).toBeGreaterThan(4 << 20);
    expect(await names()).toEqual(["docker.io/library/newer:1", "docker.io/library/used:1"]);
    for (const blob of [old.manifest, old.config, ...old.layers]) expect(blobs()).not.toContain(blob.digest);
    for (const blob of [newer.manifest, ...newer.layers]) expect(blobs()).toContain(blob.digest);
  });

  it("at 0% removes every unused image and keeps the one a container uses", async () => {
    const result = await store.garbageCollect({ highPercent: 0, lowPercent: 0 });
    expect(result.removed).toEqual(["docker.io/library/newer:1"]);
    expect(await names()).toEqual(["docker.io/library/used:1"]);
    expect(blobs()).toHaveLength(3);
    expect(readdirSync(join(store.dir, "layers"))).toHaveLength(1);
    const rootfs = join(store.dir, "rootfs", "c1", "merged");
    expect(readFileSync(join(rootfs, "etc", "passwd"), "utf8")).toMatch(/^root:/);
    expect(existsSync(join(rootfs, "bin", "busybox"))).toBe(true);
    // A new container of the kept image still gets its layers.
    const again = await store.prepareRootfs("c2", "used:1");
    expect(existsSync(join(again.path, "bin", "sh"))).toBe(true);
  });
});
