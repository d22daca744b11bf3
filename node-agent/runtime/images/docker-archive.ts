/**
 * Reads an unpacked `docker save` archive (`manifest.json` listing Config, RepoTags and Layers) as an
 * import source. Docker archives carry no manifest, so one is made here in OCI form; the layers'
 * uncompressed digests are still checked against the config's diff_ids when they are unpacked, and
 * files named by a digest (`<hex>.json`, `blobs/sha256/<hex>`) must hash to it.
 */
import { createReadStream } from "node:fs";
import { lstat, realpath } from "node:fs/promises";
import { basename, join, relative, sep } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { BlobFetcher } from "./blob-store.js";
import { HashingStream, sha256Digest } from "./digest.js";
import { ImageError } from "./errors.js";
import type { ImportSource } from "./import-source.js";
import { detectCompression } from "./layer-unpack-linux.js";
import { type Descriptor, MediaType, parseJson } from "./oci.js";
import { readRegularFile } from "./regular-file.js";

class ArchiveFetcher implements BlobFetcher {
  readonly files = new Map<string, string>();
  readonly memory = new Map<string, Buffer>();

  locate(desc: Descriptor): string {
    return this.files.get(desc.digest) ?? `manifest made from the archive (${desc.digest})`;
  }

  async fetch(desc: Descriptor): Promise<Readable> {
    const inMemory = this.memory.get(desc.digest);
    if (inMemory) return Readable.from([inMemory]);
    const file = this.files.get(desc.digest);
    if (!file) throw new ImageError("InvalidImage", `blob ${desc.digest} is not in the archive`);
    return createReadStream(file);
  }
}

interface ArchiveEntry {
  Config?: unknown;
  RepoTags?: unknown;
  Layers?: unknown;
}

export async function readDockerArchive(dir: string): Promise<ImportSource> {
  const manifestPath = join(dir, "manifest.json");
  let text: string;
  try {
    text = await readRegularFile(dir, "manifest.json");
  } catch (err) {
    if (err instanceof ImageError) throw err;
    throw new ImageError("InvalidImage", `${dir} is not a docker archive: cannot read manifest.json`);
  }
  const entries = parseJson(text, manifestPath);
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new ImageError("InvalidImage", `${manifestPath}: must be a non-empty list of images`);
  }
  const fetcher = new ArchiveFetcher();
  const images: ImportSource["images"] = [];
  for (const [i, raw] of (entries as ArchiveEntry[]).entries()) {
    const where = `${manifestPath}[${i}]`;
    if (typeof raw.Config !== "string")
      throw new ImageError("InvalidImage", `${where}.Config: must be a file name`);
    if (!Array.isArray(raw.Layers) || !raw.Layers.every((l) => typeof l === "string")) {
      throw new ImageError("InvalidImage", `${where}.Layers: must be a list of file names`);
    }
    const tags = raw.RepoTags ?? [];
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === "string")) {
      throw new ImageError("InvalidImage", `${where}.RepoTags: must be a list of references`);
    }
    const config = await describeFile(dir, raw.Config, `${where}.Config`, MediaType.ociConfig, fetcher);
    const layers: Descriptor[] = [];
    for (const [j, layer] of (raw.Layers as string[]).entries()) {
      const path = await insideDir(dir, layer, `${where}.Layers[${j}]`);
      const mediaType = {
        gzip: MediaType.ociLayerGzip,
        zstd: MediaType.ociLayerZstd,
        none: MediaType.ociLayer,
      }[await detectCompression(path)];
      layers.push(await describeFile(dir, layer, `${where}.Layers[${j}]`, mediaType, fetcher));
    }
    const manifest = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers }),
    );
    const descriptor = {
      mediaType: MediaType.ociManifest,
      digest: sha256Digest(manifest),
      size: manifest.length,
    };
    fetcher.memory.set(descriptor.digest, manifest);
    images.push({ descriptor, names: tags as string[], where });
  }
  return { fetcher, images };
}

/**
 * Resolves `name` inside `dir` (docker save links repeated layers to one file by symlink), refusing
 * absolute paths, anything that leaves it, and anything but a regular file.
 */
async function insideDir(dir: string, name: string, field: string): Promise<string> {
  let real: string;
  try {
    real = await realpath(join(dir, name));
  } catch {
    throw new ImageError("InvalidImage", `${field}: "${name}" is not in the archive`);
  }
  const rel = relative(await realpath(dir), real);
  if (name.startsWith("/") || rel.startsWith(`..${sep}`) || rel === ".." || rel === "") {
    throw new ImageError("InvalidImage", `${field}: "${name}" points outside the archive`);
  }
  if (!(await lstat(real)).isFile()) {
    throw new ImageError("InvalidImage", `${field}: "${name}" (${real}) is not a regular file`);
  }
  return real;
}

async function describeFile(
  dir: string,
  name: string,
  field: string,
  mediaType: string,
  fetcher: ArchiveFetcher,
): Promise<Descriptor> {
  const path = await insideDir(dir, name, field);
  const hasher = new HashingStream();
  await pipeline(createReadStream(path), hasher, async (source: AsyncIterable<Buffer>) => {
    for await (const _ of source);
  });
  const digest = hasher.digest();
  const claimed = /^([a-f0-9]{64})(\.json)?$/.exec(basename(name))?.[1];
  if (claimed !== undefined && `sha256:${claimed}` !== digest) {
    throw new ImageError(
      "DigestMismatch",
      `${field}: blob ${name} is named sha256:${claimed} but its content is ${digest}`,
    );
  }
  fetcher.files.set(digest, path);
  return { mediaType, digest, size: hasher.size };
}
