/**
 * Pulls from the real registry (Debian's docker-registry, filled by skopeo from OCI layouts built
 * here) into a real image store: OCI and Docker schema2 images, an index resolved to this node's
 * platform, layers shared between images, and concurrent pulls of one image. Root: the store
 * unpacks layers with owners and mounts overlays.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeScratchDir, removeScratchDir } from "../../network/testing/scratch-linux.js";
import { ImageStore } from "../images/image-store.js";
import { hostArchitecture, MediaType } from "../images/oci.js";
import { RegistryError } from "./errors.js";
import { openPullSource } from "./pull-source.js";
import { type RegistryServer, skopeoCopy, startRegistry } from "./testing/registry-server.js";
import { writeImageLayout, writeIndexLayout } from "./testing/test-images.js";

const isRoot = process.getuid?.() === 0;
const otherArch = hostArchitecture() === "arm64" ? "amd64" : "arm64";

function blobGets(registry: RegistryServer, digest: string): number {
  return registry.requests().filter((r) => r.startsWith("GET ") && r.includes(`/blobs/${digest}`)).length;
}

describe.skipIf(!isRoot)("pull from a registry (root)", () => {
  let scratch: string;
  let registry: RegistryServer;
  let store: ImageStore;

  beforeAll(async () => {
    scratch = makeScratchDir("kctl-registry-pull");
    registry = await startRegistry({ dir: join(scratch, "registry") });
    store = new ImageStore(join(scratch, "state"));
  });
  afterAll(async () => {
    await registry?.stop();
    removeScratchDir(scratch);
  });

  it("pulls a multi-layer OCI image by tag and by digest; its rootfs has every layer", async () => {
    const layout = join(scratch, "oci-app");
    const built = writeImageLayout(layout, "v1", {
      layers: [
        { "etc/base": "base\n", "bin/tool": "tool v1\n" },
        { "etc/app.conf": "port=80\n" },
        { "bin/tool": "tool v2\n" },
      ],
      cmd: ["/bin/tool"],
    });
    await skopeoCopy(layout, "v1", `${registry.host}/team/oci-app:v1`, { format: "oci" });

    const pulled = await store.pull(`${registry.host}/team/oci-app:v1`);
    expect(pulled).toEqual({
      reference: `${registry.host}/team/oci-app:v1`,
      manifestDigest: built.manifest.digest,
      imageId: built.config.digest,
    });
    const image = await store.resolve(`${registry.host}/team/oci-app:v1`);
    expect(image.config.cmd).toEqual(["/bin/tool"]);
    expect(image.layers).toHaveLength(3);
    const rootfs = await store.prepareRootfs("c-oci", `${registry.host}/team/oci-app:v1`);
    try {
      expect(readFileSync(join(rootfs.path, "bin/tool"), "utf8")).toBe("tool v2\n");
      expect(readFileSync(join(rootfs.path, "etc/app.conf"), "utf8")).toBe("port=80\n");
      expect(readFileSync(join(rootfs.path, "etc/base"), "utf8")).toBe("base\n");
    } finally {
      await rootfs.release();
    }

    const byDigest = await store.pull(`${registry.host}/team/oci-app@${built.manifest.digest}`);
    expect(byDigest.manifestDigest).toBe(built.manifest.digest);
    for (const layer of built.layers) expect(blobGets(registry, layer.digest)).toBe(1);
  });

  it("pulls a Docker schema2 image", async () => {
    const layout = join(scratch, "schema2");
    writeImageLayout(layout, "v1", { layers: [{ "etc/schema": "2\n" }] });
    await skopeoCopy(layout, "v1", `${registry.host}/team/schema2:v1`, { format: "v2s2" });
    const source = await openPullSource(`${registry.host}/team/schema2:v1`);
    expect(source.manifest.mediaType).toBe(MediaType.dockerManifest);
    const pulled = await store.pull(`${registry.host}/team/schema2:v1`);
    expect(pulled.manifestDigest).toBe(source.manifest.digest);
    const image = await store.resolve(`${registry.host}/team/schema2:v1`);
    expect(readFileSync(join(image.layers[0]!, "etc/schema"), "utf8")).toBe("2\n");
  });

  it("pulls zstd layers (decoded by Debian's zstd) as it pulls gzip ones", async () => {
    const layout = join(scratch, "zstd");
    writeImageLayout(layout, "v1", {
      layers: [{ "etc/one": "1\n" }, { "etc/two": "2\n", "etc/one": "one\n" }],
    });
    await skopeoCopy(layout, "v1", `${registry.host}/team/zstd:v1`, {
      format: "oci",
      compressFormat: "zstd",
    });
    const source = await openPullSource(`${registry.host}/team/zstd:v1`);
    expect(source.layers.map((l) => l.mediaType)).toEqual([MediaType.ociLayerZstd, MediaType.ociLayerZstd]);
    await store.pull(`${registry.host}/team/zstd:v1`);
    const rootfs = await store.prepareRootfs("c-zstd", `${registry.host}/team/zstd:v1`);
    try {
      expect(readFileSync(join(rootfs.path, "etc/one"), "utf8")).toBe("one\n");
      expect(readFileSync(join(rootfs.path, "etc/two"), "utf8")).toBe("2\n");
    } finally {
      await rootfs.release();
    }
  });

  it("downloads a layer two images share once", async () => {
    const shared = { "usr/lib/shared": "shared layer\n" };
    const a = writeImageLayout(join(scratch, "share-a"), "v1", { layers: [shared, { a: "a\n" }] });
    const b = writeImageLayout(join(scratch, "share-b"), "v1", { layers: [shared, { b: "b\n" }] });
    await skopeoCopy(join(scratch, "share-a"), "v1", `${registry.host}/share/a:v1`);
    await skopeoCopy(join(scratch, "share-b"), "v1", `${registry.host}/share/b:v1`);
    expect(a.layers[0]).toEqual(b.layers[0]);
    await store.pull(`${registry.host}/share/a:v1`);
    await store.pull(`${registry.host}/share/b:v1`);
    expect(blobGets(registry, a.layers[0]!.digest)).toBe(1);
    expect(blobGets(registry, b.layers[1]!.digest)).toBe(1);
  });

  it("shares one pull between concurrent callers of one image", async () => {
    const layout = join(scratch, "concurrent");
    const built = writeImageLayout(layout, "v1", { layers: [{ one: "1\n" }, { two: "2\n" }] });
    await skopeoCopy(layout, "v1", `${registry.host}/team/concurrent:v1`);
    const first = store.pull(`${registry.host}/team/concurrent:v1`);
    const second = store.pull(`${registry.host}/team/concurrent:v1`);
    expect(second).toBe(first);
    await Promise.all([first, second]);
    const manifestGets = registry
      .requests()
      .filter((r) => r.startsWith("GET /v2/team/concurrent/manifests/v1 "));
    expect(manifestGets).toHaveLength(1);
    for (const layer of built.layers) expect(blobGets(registry, layer.digest)).toBe(1);
  });

  it("resolves an index to this node's platform", async () => {
    const layout = join(scratch, "multi");
    const built = writeIndexLayout(layout, "v1", [
      {
        layers: [{ arch: `${otherArch}\n` }],
        architecture: otherArch,
        ...(otherArch === "arm64" ? { variant: "v8" } : {}),
      },
      { layers: [{ arch: `${hostArchitecture()}\n` }] },
    ]);
    await skopeoCopy(layout, "v1", `${registry.host}/team/multi:v1`, { all: true });
    const pulled = await store.pull(`${registry.host}/team/multi:v1`);
    expect(pulled.manifestDigest).toBe(built.images[1]!.manifest.digest);
    const image = await store.resolve(`${registry.host}/team/multi:v1`);
    expect(readFileSync(join(image.layers[0]!, "arch"), "utf8")).toBe(`${hostArchitecture()}\n`);
    // The other platform's layers were never downloaded.
    expect(blobGets(registry, built.images[0]!.layers[0]!.digest)).toBe(0);

    const other = await openPullSource(`${registry.host}/team/multi:v1`, {
      platform: { os: "linux", architecture: otherArch },
    });
    expect(other.manifest.digest).toBe(built.images[0]!.manifest.digest);
  });

  it("refuses an index without this node's platform, naming the platforms it offers, keeping nothing", async () => {
    const layout = join(scratch, "foreign");
    writeIndexLayout(layout, "v1", [
      { layers: [{ x: "arm64\n" }], architecture: "arm64", variant: "v8" },
      { layers: [{ x: "s390x\n" }], architecture: "s390x" },
    ]);
    await skopeoCopy(layout, "v1", `${registry.host}/team/foreign:v1`, { all: true });
    const blobsBefore = readdirSync(join(store.dir, "blobs", "sha256")).sort();
    const err = await store
      .pull(`${registry.host}/team/foreign:v1`, { platform: { os: "linux", architecture: "amd64" } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).code).toBe("Unsupported");
    expect((err as Error).message).toBe(
      `${registry.host}/team/foreign:v1: no manifest for linux/amd64; the index offers linux/arm64/v8, linux/s390x`,
    );
    expect((err as RegistryError).repository).toBe("team/foreign");
    expect(readdirSync(join(store.dir, "blobs", "sha256")).sort()).toEqual(blobsBefore);
    await expect(store.resolve(`${registry.host}/team/foreign:v1`)).rejects.toThrow(/not present/);
  });

  it("refuses a single-platform image built for another architecture before downloading its layers", async () => {
    const layout = join(scratch, "foreign-single");
    const built = writeImageLayout(layout, "v1", { layers: [{ only: "other\n" }], architecture: otherArch });
    await skopeoCopy(layout, "v1", `${registry.host}/team/foreign-single:v1`);
    const blobsBefore = readdirSync(join(store.dir, "blobs", "sha256")).sort();
    const err = await store.pull(`${registry.host}/team/foreign-single:v1`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as Error).message).toBe(
      `${registry.host}/team/foreign-single:v1: the image is built for linux/${otherArch}, not linux/${hostArchitecture()}`,
    );
    expect(blobGets(registry, built.layers[0]!.digest)).toBe(0);
    expect(readdirSync(join(store.dir, "blobs", "sha256")).sort()).toEqual(blobsBefore);
    expect(existsSync(join(store.dir, "tmp"))).toBe(false);
  });
});
