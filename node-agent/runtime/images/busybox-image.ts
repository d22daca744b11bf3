/**
 * Builds a small image from Debian's busybox-static: one layer (the rootfs of `busybox-rootfs.ts`),
 * config `Cmd ["sh"]`. As an OCI image layout directory for tests and `kctl image import`, or as a
 * `docker save` tarball. The layer is made reproducibly (sorted names, owner 0, mtime 0), so
 * rebuilding gives the same digests. It is not docker.io's busybox: its names say only what is true
 * (`busyboxImageNames`), and its config labels carry the Debian package version it came from.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { buildBusyboxRootfs } from "./busybox-rootfs.js";
import { sha256Digest } from "./digest.js";
import { hostArchitecture, MediaType } from "./oci.js";
import { parseReference } from "./reference.js";

const run = promisify(execFile);

/** A name for the image that makes no version claim, for manifests and tests to use across Debian updates. */
export const LOCAL_BUSYBOX_IMAGE = "kctl.local/busybox:debian";

/** An installed Debian package's version, as dpkg reports it (`1:1.35.0-4+deb12u1+b1`). */
export async function debianPackageVersion(pkg: string): Promise<string> {
  try {
    const { stdout } = await run("dpkg-query", ["-W", `-f=\${Version}`, pkg]);
    if (stdout.trim() === "") throw new Error("empty version");
    return stdout.trim();
  } catch (err) {
    throw new Error(`cannot read the version of Debian's ${pkg} (dpkg-query -W ${pkg})`, { cause: err });
  }
}

/**
 * The upstream busybox version inside a Debian version: epoch and Debian revision dropped
 * (`1:1.35.0-4+deb12u1+b1` → `1.35.0`), which is also a valid image tag.
 */
export function upstreamVersion(debianVersion: string): string {
  const withoutEpoch = debianVersion.replace(/^\d+:/, "");
  const dash = withoutEpoch.lastIndexOf("-");
  const upstream = dash > 0 ? withoutEpoch.slice(0, dash) : withoutEpoch;
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(upstream))
    throw new Error(`busybox-static version "${debianVersion}" gives no valid image tag`);
  return upstream;
}

/**
 * The names `kctl image busybox` gives the image when none are asked for: `busybox:<upstream
 * version of the Debian package>` (true of the binary inside) and {@link LOCAL_BUSYBOX_IMAGE}.
 */
export async function busyboxImageNames(): Promise<string[]> {
  return [`busybox:${upstreamVersion(await debianPackageVersion("busybox-static"))}`, LOCAL_BUSYBOX_IMAGE];
}

export interface BusyboxImageOptions {
  /** Name recorded in the image (annotations / RepoTags); defaults to `busybox`. */
  reference?: string;
}

/** What an image built from one rootfs layer is: how to lay down the rootfs, and its config. */
export interface RootfsImageSpec {
  /** Fills `rootfs`, a fresh empty directory. */
  populate(rootfs: string): Promise<void>;
  cmd: string[];
  labels: Record<string, string>;
  /** The history entry's `created_by`. */
  createdBy: string;
}

interface BuiltImage {
  layerTar: Buffer;
  config: Buffer;
  reference: string;
}

async function busyboxSpec(): Promise<RootfsImageSpec> {
  return {
    populate: buildBusyboxRootfs,
    cmd: ["sh"],
    labels: {
      "org.opencontainers.image.title": "busybox-static from Debian",
      "org.opencontainers.image.version": await debianPackageVersion("busybox-static"),
    },
    createdBy: "kctl busybox-image: Debian busybox-static",
  };
}

async function build(reference: string, spec: RootfsImageSpec): Promise<BuiltImage> {
  const work = await mkdtemp(join(tmpdir(), "kctl-image-"));
  try {
    const rootfs = join(work, "rootfs");
    await mkdir(rootfs);
    await spec.populate(rootfs);
    const { stdout } = await run(
      "tar",
      [
        "-C",
        rootfs,
        "--sort=name",
        "--numeric-owner",
        "--owner=0",
        "--group=0",
        "--mtime=@0",
        "--format=pax",
        "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
        "-cf",
        "-",
        ".",
      ],
      { encoding: "buffer", maxBuffer: 256 * 1024 * 1024 },
    );
    const config = Buffer.from(
      JSON.stringify({
        architecture: hostArchitecture(),
        os: "linux",
        created: "1970-01-01T00:00:00Z",
        config: {
          Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
          Cmd: spec.cmd,
          Labels: spec.labels,
        },
        rootfs: { type: "layers", diff_ids: [sha256Digest(stdout)] },
        history: [{ created: "1970-01-01T00:00:00Z", created_by: spec.createdBy }],
      }),
    );
    return { layerTar: stdout, config, reference: parseReference(reference).text };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function writeBlob(dir: string, data: Buffer): Promise<{ digest: string; size: number }> {
  const digest = sha256Digest(data);
  await writeFile(join(dir, "blobs", "sha256", digest.slice("sha256:".length)), data);
  return { digest, size: data.length };
}

/**
 * Writes an OCI image layout of busybox to `outDir` (created if missing; should be empty) with one
 * gzip layer; index.json names it `reference` in the `io.containerd.image.name` and
 * `org.opencontainers.image.ref.name` annotations. Returns the manifest digest.
 */
export async function buildBusyboxImage(outDir: string, options: BusyboxImageOptions = {}): Promise<string> {
  return buildRootfsImage(outDir, options.reference ?? "busybox", await busyboxSpec());
}

/**
 * Writes an OCI image layout of the one-layer image `spec` describes to `outDir` (created if
 * missing; should be empty), named `reference` in index.json's annotations. Returns the manifest
 * digest. The layer is reproducible (sorted names, owner 0, mtime 0).
 */
export async function buildRootfsImage(
  outDir: string,
  reference: string,
  spec: RootfsImageSpec,
): Promise<string> {
  const image = await build(reference, spec);
  await mkdir(join(outDir, "blobs", "sha256"), { recursive: true });
  const layer = await writeBlob(outDir, gzipSync(image.layerTar));
  const config = await writeBlob(outDir, image.config);
  const manifest = await writeBlob(
    outDir,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, ...config },
        layers: [{ mediaType: MediaType.ociLayerGzip, ...layer }],
      }),
    ),
  );
  await writeFile(join(outDir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const annotations = {
    "io.containerd.image.name": image.reference,
    "org.opencontainers.image.ref.name": image.reference,
  };
  await writeFile(
    join(outDir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [{ mediaType: MediaType.ociManifest, ...manifest, annotations }],
    }),
  );
  return manifest.digest;
}

/**
 * Writes busybox as a `docker save` tarball at `file`: manifest.json, `<hex>.json` config and an
 * uncompressed `<hex>/layer.tar`, tagged `reference`.
 */
export async function buildBusyboxArchive(file: string, options: BusyboxImageOptions = {}): Promise<void> {
  const image = await build(options.reference ?? "busybox", await busyboxSpec());
  const work = await mkdtemp(join(tmpdir(), "kctl-busybox-archive-"));
  try {
    const layerHex = sha256Digest(image.layerTar).slice("sha256:".length);
    const configName = `${sha256Digest(image.config).slice("sha256:".length)}.json`;
    await mkdir(join(work, layerHex));
    await writeFile(join(work, layerHex, "layer.tar"), image.layerTar);
    await writeFile(join(work, configName), image.config);
    await writeFile(
      join(work, "manifest.json"),
      JSON.stringify([
        { Config: configName, RepoTags: [image.reference], Layers: [`${layerHex}/layer.tar`] },
      ]),
    );
    await run("tar", [
      "-C",
      work,
      "--sort=name",
      "--numeric-owner",
      "--owner=0",
      "--group=0",
      "-cf",
      file,
      ".",
    ]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
