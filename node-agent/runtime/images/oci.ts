/**
 * The OCI image format as this store reads it (image-spec v1, plus Docker's schema2 media types,
 * which have the same shape): descriptors, manifests, indexes and the runtime part of the config.
 * Parsers check every field they use and name it (`<where>.layers[2].digest`) when it is wrong.
 */
import { digestHex } from "./digest.js";
import { ImageError } from "./errors.js";

export const MediaType = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
} as const;

const INDEX_TYPES: readonly string[] = [MediaType.ociIndex, MediaType.dockerManifestList];
const MANIFEST_TYPES: readonly string[] = [MediaType.ociManifest, MediaType.dockerManifest];

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface Manifest {
  config: Descriptor;
  layers: Descriptor[];
}

/** The parts of an image config a container runtime needs (`config` in the OCI image config). */
export interface RuntimeConfig {
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workingDir: string;
  user: string;
  stopSignal: string | undefined;
  labels: Record<string, string>;
}

export interface ImageConfig {
  runtime: RuntimeConfig;
  /** Digests of the uncompressed layers, bottom first. */
  diffIds: string[];
  os: string;
  architecture: string;
}

type Json = Record<string, unknown>;

function bad(where: string, why: string): ImageError {
  return new ImageError("InvalidImage", `${where}: ${why}`);
}

function object(value: unknown, where: string): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw bad(where, "must be an object");
  return value as Json;
}

function stringArray(value: unknown, where: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string"))
    throw bad(where, "must be a list of strings");
  return value;
}

function optionalString(value: unknown, where: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw bad(where, "must be a string");
  return value;
}

/** Parses JSON text, naming `where` when it is not JSON. */
export function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ImageError("InvalidImage", `${where}: not valid JSON (${(err as Error).message})`, {
      cause: err,
    });
  }
}

export function parseDescriptor(value: unknown, where: string): Descriptor {
  const d = object(value, where);
  const mediaType = optionalString(d.mediaType, `${where}.mediaType`);
  if (mediaType === undefined) throw bad(`${where}.mediaType`, "is required");
  digestHex(d.digest, `${where}.digest`);
  if (typeof d.size !== "number" || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw bad(`${where}.size`, "must be a non-negative integer");
  }
  const desc: Descriptor = { mediaType, digest: d.digest as string, size: d.size };
  if (d.annotations !== undefined)
    desc.annotations = object(d.annotations, `${where}.annotations`) as Record<string, string>;
  if (d.platform !== undefined) {
    const p = object(d.platform, `${where}.platform`);
    desc.platform = {
      os: optionalString(p.os, `${where}.platform.os`) ?? "",
      architecture: optionalString(p.architecture, `${where}.platform.architecture`) ?? "",
    };
    const variant = optionalString(p.variant, `${where}.platform.variant`);
    if (variant !== undefined) desc.platform.variant = variant;
  }
  return desc;
}

export function isIndex(mediaType: string): boolean {
  return INDEX_TYPES.includes(mediaType);
}

export function isManifest(mediaType: string): boolean {
  return MANIFEST_TYPES.includes(mediaType);
}

/** The manifests listed by an image index (or Docker manifest list, or an OCI layout's index.json). */
export function parseIndex(value: unknown, where: string): Descriptor[] {
  const idx = object(value, where);
  if (idx.schemaVersion !== 2) throw bad(`${where}.schemaVersion`, "must be 2");
  if (!Array.isArray(idx.manifests)) throw bad(`${where}.manifests`, "must be a list");
  return idx.manifests.map((m, i) => parseDescriptor(m, `${where}.manifests[${i}]`));
}

export function parseManifest(value: unknown, where: string): Manifest {
  const m = object(value, where);
  if (m.schemaVersion !== 2) throw bad(`${where}.schemaVersion`, "must be 2");
  if (!Array.isArray(m.layers)) throw bad(`${where}.layers`, "must be a list");
  return {
    config: parseDescriptor(m.config, `${where}.config`),
    layers: m.layers.map((l, i) => parseDescriptor(l, `${where}.layers[${i}]`)),
  };
}

export function parseImageConfig(value: unknown, where: string): ImageConfig {
  const c = object(value, where);
  const rootfs = object(c.rootfs, `${where}.rootfs`);
  if (rootfs.type !== "layers") throw bad(`${where}.rootfs.type`, 'must be "layers"');
  const diffIds = stringArray(rootfs.diff_ids, `${where}.rootfs.diff_ids`);
  for (const [i, d] of diffIds.entries()) digestHex(d, `${where}.rootfs.diff_ids[${i}]`);
  const cfg = c.config === undefined || c.config === null ? {} : object(c.config, `${where}.config`);
  const labels =
    cfg.Labels === undefined || cfg.Labels === null ? {} : object(cfg.Labels, `${where}.config.Labels`);
  return {
    runtime: {
      entrypoint: stringArray(cfg.Entrypoint, `${where}.config.Entrypoint`),
      cmd: stringArray(cfg.Cmd, `${where}.config.Cmd`),
      env: stringArray(cfg.Env, `${where}.config.Env`),
      workingDir: optionalString(cfg.WorkingDir, `${where}.config.WorkingDir`) ?? "",
      user: optionalString(cfg.User, `${where}.config.User`) ?? "",
      stopSignal: optionalString(cfg.StopSignal, `${where}.config.StopSignal`),
      labels: labels as Record<string, string>,
    },
    diffIds,
    os: optionalString(c.os, `${where}.os`) ?? "",
    architecture: optionalString(c.architecture, `${where}.architecture`) ?? "",
  };
}

/** The OCI architecture name of this machine (`amd64`, `arm64`, ...). */
export function hostArchitecture(): string {
  const map: Record<string, string> = {
    x64: "amd64",
    arm64: "arm64",
    arm: "arm",
    ia32: "386",
    ppc64: "ppc64le",
    s390x: "s390x",
  };
  return map[process.arch] ?? process.arch;
}
