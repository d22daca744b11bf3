/**
 * The node's image store under `<stateDir>/images`: verified blobs (`blobs/sha256/<hex>`), names
 * (`refs.json`), layers unpacked once by diffID (`layers/<hex>/`) and shared by every container, and
 * container root filesystems (`rootfs/<containerId>/`) as overlays of those layers.
 *
 * Imports are all-or-nothing: every blob is verified against its digest (and every layer against
 * its diffID) before a name points at it, and a failed import removes what it added. Pulling from a
 * registry will be one more `ImportSource` (a fetcher over the distribution API); nothing else here
 * changes for it.
 */
import { randomBytes } from "node:crypto";
import { access, mkdir, readdir, rm, stat, utimes } from "node:fs/promises";
import { basename, join } from "node:path";
import { fetchLayers, openPullSource, type PullOptions } from "../registry/pull-source.js";
import { BlobStore } from "./blob-store.js";
import { extractChecked } from "./checked-extract-linux.js";
import { digestHex } from "./digest.js";
import { readDockerArchive } from "./docker-archive.js";
import { EarlyUnpacks } from "./early-unpack.js";
import { ImageError } from "./errors.js";
import { bytesToFree, fsUsage, type ImageGcThresholds, removalOrder } from "./image-gc.js";
import type { ImportSource, SourceImage } from "./import-source.js";
import { diffIdMismatch, diffIdOf, unpackLayer } from "./layer-unpack-linux.js";
import {
  type Descriptor,
  hostArchitecture,
  type ImageConfig,
  isIndex,
  isManifest,
  type Manifest,
  MediaType,
  parseImageConfig,
  parseIndex,
  parseJson,
  parseManifest,
  type RuntimeConfig,
} from "./oci.js";
import { isOciLayout, readOciLayout } from "./oci-layout.js";
import { RefIndex } from "./ref-index.js";
import { parseReference } from "./reference.js";
import { mountRootfs, removeRootfs, rootfsRecords } from "./rootfs-linux.js";
import { describeBytes } from "./size-limit.js";

/** An image ready to run: what the pod worker puts into the OCI bundle. */
export interface ResolvedImage {
  /** Normalised reference it was found under (`docker.io/library/busybox:latest`). */
  reference: string;
  manifestDigest: string;
  /** The config digest: the image ID reported in container statuses. */
  imageId: string;
  config: RuntimeConfig;
  /** Unpacked layer dirs, bottom first. */
  layers: string[];
}

export interface Rootfs {
  /** The merged view: the bundle's `root.path`. */
  path: string;
  /** The container's own writes (overlayfs's upper dir): what a build step turns into a layer. */
  upperDir: string;
  image: ResolvedImage;
  /** Unmounts the overlay and deletes the container's upper and work dirs. Idempotent. */
  release(): Promise<void>;
}

/**
 * Limits on what an image may make the node read and write. A layer or archive beyond them is
 * refused (`TooLarge`) whatever its compressed size, so a gzip bomb cannot fill the node's disk.
 */
export interface ImageStoreOptions {
  /** Most uncompressed bytes of one layer; default 10 GiB (larger than any common base image by far). */
  maxLayerBytes?: number;
  /** Most uncompressed bytes of an imported archive; default 32 GiB (several such layers). */
  maxArchiveBytes?: number;
}

export const DEFAULT_MAX_LAYER_BYTES = 10 * 1024 ** 3;
export const DEFAULT_MAX_ARCHIVE_BYTES = 32 * 1024 ** 3;
/** Index, manifest and config blobs: registries refuse manifests over 4 MiB; configs are smaller. */
const MAX_JSON_BLOB_BYTES = 4 * 1024 ** 2;

export interface ImportOptions {
  /** Name for the image, overriding the names in the source; the source must hold one image. */
  name?: string;
}

export interface ImportedImage {
  reference: string;
  manifestDigest: string;
  imageId: string;
}

export interface GcResult {
  /** References removed, with the images they named. */
  removed: string[];
  /** Bytes the filesystem got back. */
  freedBytes: number;
}

export interface ListedImage extends ImportedImage {
  /** Config and layers in bytes, compressed as stored (what a pull downloads). */
  size: number;
}

const LAYER_TYPES: readonly string[] = [
  MediaType.ociLayer,
  MediaType.ociLayerGzip,
  MediaType.ociLayerZstd,
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  "application/vnd.docker.image.rootfs.diff.tar.gzip",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
];
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class ImageStore {
  readonly dir: string;
  private readonly blobs: BlobStore;
  private readonly refs: RefIndex;
  private readonly parsed = new Map<string, Manifest | ImageConfig>();
  private importing: Promise<unknown> = Promise.resolve();
  private readonly rootfsLocks = new Map<string, Promise<unknown>>();
  private readonly maxLayerBytes: number;
  private readonly maxArchiveBytes: number;
  private readonly pulls = new Map<string, Promise<ImportedImage>>();

  constructor(stateDir: string, options: ImageStoreOptions = {}) {
    this.maxLayerBytes = positiveLimit(options.maxLayerBytes ?? DEFAULT_MAX_LAYER_BYTES, "maxLayerBytes");
    this.maxArchiveBytes = positiveLimit(
      options.maxArchiveBytes ?? DEFAULT_MAX_ARCHIVE_BYTES,
      "maxArchiveBytes",
    );
    this.dir = join(stateDir, "images");
    this.blobs = new BlobStore(join(this.dir, "blobs"));
    this.refs = new RefIndex(this.dir);
  }

  /** Imports an OCI image layout directory. */
  importLayout(dir: string, options: ImportOptions = {}): Promise<ImportedImage[]> {
    return this.serializeImport(async () => this.importSource(await readOciLayout(dir), options));
  }

  /**
   * Imports a tarball: an OCI layout or a `docker save` archive, gzip-compressed or not. It is
   * unpacked to a temporary dir in the store and removed after.
   */
  importArchive(file: string, options: ImportOptions = {}): Promise<ImportedImage[]> {
    return this.serializeImport(async () => {
      const temp = join(this.dir, "tmp", `import-${randomBytes(6).toString("hex")}`);
      await mkdir(temp, { recursive: true });
      try {
        await this.untar(file, temp);
        if (await isOciLayout(temp)) return await this.importSource(await readOciLayout(temp), options);
        const hasManifest = await access(join(temp, "manifest.json")).then(
          () => true,
          () => false,
        );
        if (!hasManifest) {
          throw new ImageError(
            "InvalidImage",
            `${file}: neither an OCI layout (oci-layout) nor a docker archive (manifest.json)`,
          );
        }
        return await this.importSource(await readDockerArchive(temp), options);
      } finally {
        await rm(temp, { recursive: true, force: true });
      }
    });
  }

  /**
   * Pulls `ref` from its registry (see node-agent/runtime/registry) and names it `ref`. Layers
   * download concurrently, and those the store holds are not downloaded; concurrent pulls of one
   * reference by one `identity` (a digest of the credentials) share one pull, run with the first
   * caller's options. All-or-nothing like every import: a failure keeps nothing.
   */
  pull(ref: string, options: PullOptions & { identity?: string } = {}): Promise<ImportedImage> {
    const key = `${options.identity ?? ""}\0${parseReference(ref).text}`;
    const inFlight = this.pulls.get(key);
    if (inFlight) return inFlight;
    const run = (async () => {
      const source = await openPullSource(ref, options);
      return this.serializeImport(async () => {
        const early = new EarlyUnpacks(source, {
          layerDir: (diffId) => this.layerDir(diffId),
          unpacks: (mediaType) => LAYER_TYPES.includes(mediaType),
          unpack: async (layer, diffId, where) => {
            if (await exists(this.layerDir(diffId))) return false;
            await this.ensureLayer(layer, diffId, where);
            return true;
          },
        });
        let fetched: string[] = [];
        try {
          fetched = await fetchLayers(source, this.blobs, (desc) => early.start(desc));
          await early.finished();
          return (await this.importSource(source, {}))[0]!;
        } catch (err) {
          await early.undo();
          for (const digest of fetched) await this.blobs.remove(digest);
          throw err;
        }
      });
    })().finally(() => this.pulls.delete(key));
    this.pulls.set(key, run);
    return run;
  }

  /**
   * Finds `ref` on this node and returns its runtime config and layer dirs (unpacking a layer again
   * if its dir went missing). Throws `NotFound` when the node does not have it.
   */
  async resolve(ref: string): Promise<ResolvedImage> {
    const parsed = parseReference(ref);
    // A name pinned to an index's digest points at this node's manifest from it; any other
    // pinned digest is the manifest itself.
    const manifestDigest = (await this.refs.read()).get(parsed.text) ?? parsed.digest;
    if (manifestDigest === undefined || !(await this.blobs.has(manifestDigest))) {
      throw new ImageError("NotFound", `image "${ref}" (${parsed.text}) is not present on this node`);
    }
    const manifest = await this.manifest(manifestDigest);
    const config = await this.config(manifest.config.digest);
    const layers: string[] = [];
    for (const [i, layer] of manifest.layers.entries()) {
      layers.push(
        await this.ensureLayer(
          layer,
          config.diffIds[i]!,
          `image ${parsed.text} layers[${i}] (${layer.digest})`,
        ),
      );
    }
    return {
      reference: parsed.text,
      manifestDigest,
      imageId: manifest.config.digest,
      config: config.runtime,
      layers,
    };
  }

  /**
   * The manifest of `ref` and its config as stored (the whole JSON, fields this store does not use
   * included), for tools that make new images on top of it. Throws `NotFound` like {@link resolve}.
   */
  async inspect(ref: string): Promise<{ manifestDigest: string; manifest: Manifest; config: unknown }> {
    const image = await this.resolve(ref);
    const manifest = await this.manifest(image.manifestDigest);
    const where = `config ${manifest.config.digest}`;
    const config = parseJson(await this.blobs.readText(manifest.config.digest), where);
    return { manifestDigest: image.manifestDigest, manifest, config };
  }

  /** References, the manifests they name, and the bytes of each image's blobs as a registry holds them. */
  async list(): Promise<ListedImage[]> {
    const out: ListedImage[] = [];
    for (const [reference, manifestDigest] of await this.refs.read()) {
      const manifest = await this.manifest(manifestDigest);
      const size = [manifest.config, ...manifest.layers].reduce((sum, d) => sum + d.size, 0);
      out.push({ reference, manifestDigest, imageId: manifest.config.digest, size });
    }
    return out;
  }

  /** Removes the name `ref` (blobs and layers stay until garbage collection). Idempotent. */
  async remove(ref: string): Promise<void> {
    const { text } = parseReference(ref);
    await this.serializeImport(() => this.refs.update((refs) => refs.delete(text)));
  }

  /**
   * Image GC (see image-gc.ts): when the store's filesystem is used above `highPercent`, removes
   * images no container rootfs uses, least recently used first (imported, pulled or given to a
   * container), with every blob and layer only they held, until usage is down to `lowPercent`.
   */
  garbageCollect(t: ImageGcThresholds): Promise<GcResult> {
    return this.serializeImport(async () => {
      const result: GcResult = { removed: [], freedBytes: 0 };
      await mkdir(this.dir, { recursive: true });
      const before = await fsUsage(this.dir);
      const goal = bytesToFree(before, t);
      if (goal === 0) return result;
      const refs = await this.refs.read();
      const usedConfigs = new Set((await rootfsRecords(join(this.dir, "rootfs"))).map((r) => r.imageId));
      const inUse = new Set<string>();
      const candidates = [];
      for (const digest of new Set(refs.values())) {
        if (usedConfigs.has((await this.manifest(digest)).config.digest)) inUse.add(digest);
        const mtime = await stat(this.blobs.path(digest)).then((s) => s.mtimeMs);
        candidates.push({ manifestDigest: digest, lastUsedMs: mtime });
      }
      for (const victim of removalOrder(candidates, inUse)) {
        const names = [...refs].filter(([, d]) => d === victim.manifestDigest).map(([r]) => r);
        await this.refs.update((map) => {
          for (const name of names) map.delete(name);
        });
        for (const name of names) refs.delete(name);
        result.removed.push(...names);
        await this.sweep(refs);
        result.freedBytes = Math.max(0, before.used - (await fsUsage(this.dir)).used);
        if (result.freedBytes >= goal) break;
      }
      return result;
    });
  }

  /** Removes every blob and unpacked layer that no name and no container rootfs uses (`kctl build prune`). */
  sweepUnused(): Promise<void> {
    return this.serializeImport(async () => this.sweep(await this.refs.read()));
  }

  /** Removes every blob and unpacked layer that no image in `refs` and no container rootfs uses. */
  private async sweep(refs: ReadonlyMap<string, string>): Promise<void> {
    const liveBlobs = new Set<string>();
    const liveLayers = new Set<string>();
    for (const digest of new Set(refs.values())) {
      const manifest = await this.manifest(digest);
      const config = await this.config(manifest.config.digest);
      liveBlobs.add(digest).add(manifest.config.digest);
      for (const layer of manifest.layers) liveBlobs.add(layer.digest);
      for (const diffId of config.diffIds) liveLayers.add(basename(this.layerDir(diffId)));
    }
    for (const record of await rootfsRecords(join(this.dir, "rootfs"))) {
      for (const layer of record.layers) liveLayers.add(basename(layer));
    }
    // Names starting with "." are temporary files of an import or unpack under way.
    const entries = (dir: string) =>
      readdir(dir).then(
        (names) => names.filter((n) => !n.startsWith(".")),
        () => [] as string[],
      );
    for (const hex of await entries(join(this.dir, "blobs", "sha256"))) {
      const digest = `sha256:${hex}`;
      if (!liveBlobs.has(digest)) {
        await this.blobs.remove(digest);
        this.parsed.delete(digest);
      }
    }
    for (const hex of await entries(join(this.dir, "layers"))) {
      if (!liveLayers.has(hex)) await rm(join(this.dir, "layers", hex), { recursive: true, force: true });
    }
  }

  /** Records that the image was used now (its manifest blob's mtime), for GC's least-recently-used order. */
  private async markUsed(manifestDigest: string): Promise<void> {
    const now = new Date();
    await utimes(this.blobs.path(manifestDigest), now, now);
  }

  /**
   * Makes the root filesystem of container `containerId` from image `ref`: an overlay of the image's
   * layers with an upper dir of its own. Idempotent and safe after a crash: an existing mount for the
   * same image is reused (keeping the container's writes), anything else there is unmounted first.
   * The caller owns the returned rootfs and must `release()` it (or call {@link releaseRootfs}
   * after a restart) when the container is removed.
   */
  async prepareRootfs(containerId: string, ref: string): Promise<Rootfs> {
    const dir = this.rootfsDir(containerId);
    return this.withRootfsLock(containerId, async () => {
      const image = await this.resolve(ref);
      const path = await mountRootfs({ dir, layers: image.layers, imageId: image.imageId });
      await this.markUsed(image.manifestDigest);
      return {
        path,
        upperDir: join(dir, "upper"),
        image,
        release: () => this.releaseRootfs(containerId),
      };
    });
  }

  /** Unmounts and deletes the rootfs of `containerId`. Idempotent. */
  async releaseRootfs(containerId: string): Promise<void> {
    const dir = this.rootfsDir(containerId);
    return this.withRootfsLock(containerId, () => removeRootfs(dir));
  }

  private rootfsDir(containerId: string): string {
    if (!CONTAINER_ID.test(containerId) || containerId.includes("..")) {
      throw new ImageError(
        "Invalid",
        `containerId: "${containerId}" must be letters, digits, '-', '_' or '.'`,
      );
    }
    return join(this.dir, "rootfs", containerId);
  }

  private withRootfsLock<T>(containerId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.rootfsLocks.get(containerId) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.rootfsLocks.set(containerId, settled);
    void settled.then(() => {
      if (this.rootfsLocks.get(containerId) === settled) this.rootfsLocks.delete(containerId);
    });
    return run;
  }

  private serializeImport<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.importing.then(fn, fn);
    this.importing = run.catch(() => undefined);
    return run;
  }

  private async importSource(source: ImportSource, options: ImportOptions): Promise<ImportedImage[]> {
    if (source.images.length === 0) throw new ImageError("InvalidImage", "the source holds no image");
    if (options.name !== undefined && source.images.length > 1) {
      throw new ImageError(
        "InvalidImage",
        `--name ${options.name}: the source holds ${source.images.length} images; a name can only be given to one`,
      );
    }
    const named = source.images.map((image) => {
      const names = options.name !== undefined ? [options.name] : image.names;
      if (names.length === 0) {
        throw new ImageError("InvalidImage", `${image.where}: the image has no name; give one with --name`);
      }
      return { image, refs: names.map((n) => parseReference(n).text) };
    });
    const added: { blobs: string[]; layers: string[] } = { blobs: [], layers: [] };
    try {
      const imported: ImportedImage[] = [];
      for (const { image, refs } of named) {
        const { manifestDigest, imageId } = await this.ingestImage(source, image, added);
        for (const reference of refs) imported.push({ reference, manifestDigest, imageId });
      }
      await this.refs.update((map) => {
        for (const i of imported) map.set(i.reference, i.manifestDigest);
      });
      for (const i of imported) await this.markUsed(i.manifestDigest);
      return imported;
    } catch (err) {
      for (const layer of added.layers) await rm(layer, { recursive: true, force: true });
      for (const digest of added.blobs) await this.blobs.remove(digest);
      throw err;
    }
  }

  private async ingestImage(
    source: ImportSource,
    image: SourceImage,
    added: { blobs: string[]; layers: string[] },
  ): Promise<{ manifestDigest: string; imageId: string }> {
    // Indexes, manifests and configs are parsed in memory, so their size is capped before reading.
    const ingest = async (desc: Descriptor) => {
      if (desc.size > MAX_JSON_BLOB_BYTES) {
        throw new ImageError(
          "TooLarge",
          `${image.where}: ${desc.mediaType} ${desc.digest} of ${desc.size} bytes is larger than the limit of ${describeBytes(MAX_JSON_BLOB_BYTES)}`,
        );
      }
      if (await this.blobs.ingest(desc, source.fetcher)) added.blobs.push(desc.digest);
    };
    let desc = image.descriptor;
    if (isIndex(desc.mediaType)) {
      await ingest(desc);
      desc = pickPlatform(
        parseIndex(parseJson(await this.blobs.readText(desc.digest), image.where), image.where),
        image.where,
      );
    }
    if (!isManifest(desc.mediaType)) {
      throw new ImageError(
        "Unsupported",
        `${image.where}: media type ${desc.mediaType} is not an image manifest`,
      );
    }
    await ingest(desc);
    const manifest = await this.manifest(desc.digest);
    await ingest(manifest.config);
    const config = await this.config(manifest.config.digest);
    const where = `image ${desc.digest}`;
    if (config.os !== "" && config.os !== "linux")
      throw new ImageError("Unsupported", `${where}: built for ${config.os}, not linux`);
    if (config.architecture !== "" && config.architecture !== hostArchitecture()) {
      throw new ImageError(
        "Unsupported",
        `${where}: built for ${config.architecture}, this node is ${hostArchitecture()}`,
      );
    }
    if (config.diffIds.length !== manifest.layers.length) {
      throw new ImageError(
        "InvalidImage",
        `${where}: manifest lists ${manifest.layers.length} layers but config rootfs.diff_ids has ${config.diffIds.length}`,
      );
    }
    for (const [i, layer] of manifest.layers.entries()) {
      if (!LAYER_TYPES.includes(layer.mediaType)) {
        throw new ImageError(
          "Unsupported",
          `${where} layers[${i}]: media type ${layer.mediaType} is not supported`,
        );
      }
      const layerWhere = `${where} layers[${i}] (${layer.digest})`;
      const diffId = config.diffIds[i]!;
      const newBlob = await this.blobs.ingest(layer, source.fetcher);
      if (newBlob) added.blobs.push(layer.digest);
      const dir = this.layerDir(diffId);
      if (!(await exists(dir))) {
        await this.ensureLayer(layer, diffId, layerWhere);
        added.layers.push(dir);
      } else if (newBlob) {
        // The layer is already unpacked from another blob, so unpacking will not check this one;
        // a docker archive's only anchor is the config's diffID, so check it here.
        const actual = await diffIdOf(this.blobs.path(layer.digest), this.maxLayerBytes, layerWhere);
        if (actual !== diffId) throw diffIdMismatch(layerWhere, actual, diffId);
      }
    }
    return { manifestDigest: desc.digest, imageId: manifest.config.digest };
  }

  /**
   * Unpacks an outer archive (OCI layout or docker save, maybe gzip) into `dir`, with the checks
   * layers get (nothing outside `dir`, no device nodes, the size limit); `.wh.` names are plain
   * files here. Owners and modes are not kept: the store reads these files, nothing runs them.
   */
  private async untar(file: string, dir: string): Promise<void> {
    const where = `archive ${file}`;
    const { failure } = await extractChecked({
      path: file,
      dir,
      maxBytes: this.maxArchiveBytes,
      what: `${where}: uncompressed archive`,
      whiteouts: false,
      tarOptions: ["--no-same-owner", "--no-same-permissions"],
    }).catch((err: unknown) => {
      if (err instanceof ImageError && err.code !== "InvalidImage") throw err;
      throw new ImageError("InvalidImage", `${file}: not a readable tar archive: ${(err as Error).message}`, {
        cause: err,
      });
    });
    if (failure !== undefined) throw new ImageError("InvalidImage", `${file}: ${failure}`);
  }

  private layerDir(diffId: string): string {
    return join(this.dir, "layers", digestHex(diffId, "diffID"));
  }

  /** The unpacked dir of a layer, unpacking it from its blob first if needed. */
  private async ensureLayer(layer: Descriptor, diffId: string, where: string): Promise<string> {
    const dir = this.layerDir(diffId);
    if (await exists(dir)) return dir;
    await mkdir(join(this.dir, "layers"), { recursive: true });
    await unpackLayer(this.blobs.path(layer.digest), dir, diffId, where, this.maxLayerBytes);
    return dir;
  }

  private async manifest(digest: string): Promise<Manifest> {
    const cached = this.parsed.get(digest);
    if (cached) return cached as Manifest;
    const manifest = parseManifest(
      parseJson(await this.blobs.readText(digest), `manifest ${digest}`),
      `manifest ${digest}`,
    );
    this.parsed.set(digest, manifest);
    return manifest;
  }

  private async config(digest: string): Promise<ImageConfig> {
    const cached = this.parsed.get(digest);
    if (cached) return cached as ImageConfig;
    const config = parseImageConfig(
      parseJson(await this.blobs.readText(digest), `config ${digest}`),
      `config ${digest}`,
    );
    this.parsed.set(digest, config);
    return config;
  }
}

function pickPlatform(manifests: Descriptor[], where: string): Descriptor {
  const arch = hostArchitecture();
  const match = manifests.find((m) => m.platform?.os === "linux" && m.platform.architecture === arch);
  if (match) return match;
  if (manifests.length === 1 && manifests[0]!.platform === undefined) return manifests[0]!;
  throw new ImageError("Unsupported", `${where}: no manifest for linux/${arch}`);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function positiveLimit(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ImageError("Invalid", `${field}: ${value} must be a positive whole number of bytes`);
  }
  return value;
}
