/**
 * Small OCI layouts for registry tests: images whose layers are made from files given in memory
 * (tarred by GNU tar reproducibly), optionally several platforms under one index. Each layout's
 * index.json tags the top image with `org.opencontainers.image.ref.name`, which is what
 * `skopeo copy oci:<dir>:<tag>` looks up.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { sha256Digest } from "../../images/digest.js";
import { hostArchitecture, MediaType } from "../../images/oci.js";

/** A file's content, or its content and mode (0644 otherwise). */
export type TestFile = string | Buffer | { data: string | Buffer; mode: number };

export interface TestImage {
  /** Each layer: relative path → file. Bottom first. */
  layers: Record<string, TestFile>[];
  architecture?: string;
  variant?: string;
  cmd?: string[];
}

export interface BuiltBlob {
  digest: string;
  size: number;
}

export interface BuiltImage {
  manifest: BuiltBlob;
  config: BuiltBlob;
  layers: BuiltBlob[];
}

/** A reproducible tar of `files`. */
export function tarFiles(files: Record<string, TestFile>): Buffer {
  const dir = mkdtempSync(join(tmpdir(), "kctl-layer-"));
  try {
    for (const [path, file] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      const withMode =
        typeof file === "object" && !Buffer.isBuffer(file) ? file : { data: file, mode: 0o644 };
      writeFileSync(join(dir, path), withMode.data);
      chmodSync(join(dir, path), withMode.mode);
    }
    return execFileSync(
      "tar",
      ["-C", dir, "--sort=name", "--numeric-owner", "--owner=0", "--group=0", "--mtime=@0", "-cf", "-", "."],
      { maxBuffer: 1 << 30 },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function blob(layout: string, data: Buffer): BuiltBlob {
  mkdirSync(join(layout, "blobs", "sha256"), { recursive: true });
  const digest = sha256Digest(data);
  writeFileSync(join(layout, "blobs", "sha256", digest.slice(7)), data);
  return { digest, size: data.length };
}

function writeImage(layout: string, image: TestImage): BuiltImage {
  const tars = image.layers.map(tarFiles);
  const layers = tars.map((t) => blob(layout, gzipSync(t)));
  const config = blob(
    layout,
    Buffer.from(
      JSON.stringify({
        architecture: image.architecture ?? hostArchitecture(),
        ...(image.variant !== undefined ? { variant: image.variant } : {}),
        os: "linux",
        config: { Cmd: image.cmd ?? ["sh"], Env: ["PATH=/bin"] },
        rootfs: { type: "layers", diff_ids: tars.map((t) => sha256Digest(t)) },
      }),
    ),
  );
  const manifest = blob(
    layout,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, ...config },
        layers: layers.map((l) => ({ mediaType: MediaType.ociLayerGzip, ...l })),
      }),
    ),
  );
  return { manifest, config, layers };
}

function writeIndexJson(layout: string, top: object, tag: string): void {
  writeFileSync(join(layout, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(layout, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [{ ...top, annotations: { "org.opencontainers.image.ref.name": tag } }],
    }),
  );
}

/** Writes an OCI layout holding `image` tagged `tag`. */
export function writeImageLayout(layout: string, tag: string, image: TestImage): BuiltImage {
  const built = writeImage(layout, image);
  writeIndexJson(layout, { mediaType: MediaType.ociManifest, ...built.manifest }, tag);
  return built;
}

/** Writes an OCI layout whose tag `tag` names an index of `images`, one per platform. */
export function writeIndexLayout(
  layout: string,
  tag: string,
  images: TestImage[],
): { index: BuiltBlob; images: BuiltImage[] } {
  const built = images.map((image) => writeImage(layout, image));
  const index = blob(
    layout,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: built.map((b, i) => ({
          mediaType: MediaType.ociManifest,
          ...b.manifest,
          platform: {
            os: "linux",
            architecture: images[i]!.architecture ?? hostArchitecture(),
            ...(images[i]!.variant !== undefined ? { variant: images[i]!.variant } : {}),
          },
        })),
      }),
    ),
  );
  writeIndexJson(layout, { mediaType: MediaType.ociIndex, ...index }, tag);
  return { index, images: built };
}
