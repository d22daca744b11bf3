/**
 * A registry image as an `ImportSource` for the image store: the reference is resolved to one
 * manifest for this node's platform (through an index when the tag names one), manifests are
 * verified against their digests here, and blobs are streamed from the registry by a
 * `BlobFetcher` (the store verifies each against its digest while writing it, and keeps nothing of
 * a pull that fails).
 */
import { Readable } from "node:stream";
import type { BlobFetcher } from "../images/blob-store.js";
import type { ImportSource } from "../images/import-source.js";
import {
  type Descriptor,
  isIndex,
  isManifest,
  type Platform,
  parseImageConfig,
  parseIndex,
  parseJson,
  parseManifest,
} from "../images/oci.js";
import { parseReference } from "../images/reference.js";
import { type ClientOptions, type Manifest, RegistryClient } from "./client.js";
import { RegistryError } from "./errors.js";
import { formatPlatform, hostPlatform, selectPlatform } from "./platform.js";
import { counted, ended, type ProgressListener } from "./progress.js";

export interface PullOptions extends ClientOptions {
  /** Platform to pick from an index; this node's by default. */
  platform?: Platform;
  /** Blobs (layers, configs) larger than this many bytes are refused before download. */
  maxBlobSize?: number;
  /** Told the bytes of each layer as they download, and how each ended. */
  onProgress?: ProgressListener;
}

export interface PullSource extends ImportSource {
  /** Canonical reference pulled (`127.0.0.1:5000/team/app:v1`). */
  reference: string;
  /** The platform manifest the image store will ingest. */
  manifest: Descriptor;
  /** Its layers, bottom first. */
  layers: Descriptor[];
  /** The config's diffIDs (the uncompressed digest of each layer), in the same order. */
  diffIds: string[];
  onProgress?: ProgressListener;
}

/** The part of the blob store {@link fetchLayers} uses. */
export interface BlobSink {
  /** Stores `desc` unless present; true when it was added. */
  ingest(desc: Descriptor, fetcher: BlobFetcher): Promise<boolean>;
  remove(digest: string): Promise<void>;
}

/** Layers downloaded at once, as containerd's default `max_concurrent_downloads`. */
export const CONCURRENT_DOWNLOADS = 3;

/** Image configs larger than this are refused (they are JSON; real ones are a few KiB). */
const CONFIG_LIMIT = 8 << 20;

class RegistryFetcher implements BlobFetcher {
  constructor(
    private readonly client: RegistryClient,
    private readonly verified: Map<string, Buffer>,
    private readonly maxBlobSize: number,
    private readonly onProgress?: ProgressListener,
  ) {}

  locate(desc: Descriptor): string {
    return this.client.url(`/blobs/${desc.digest}`);
  }

  async fetch(desc: Descriptor): Promise<Readable> {
    const held = this.verified.get(desc.digest);
    if (held) return Readable.from([held]);
    if (desc.size > this.maxBlobSize) {
      throw new RegistryError(
        "TooLarge",
        `${this.client.name(desc.digest)}: blob of ${desc.size} bytes is over the limit of ${this.maxBlobSize}`,
        this.client.context(desc.digest),
      );
    }
    const body = await this.client.openBlob(desc);
    return this.onProgress ? counted(body, desc, this.onProgress) : body;
  }
}

/**
 * Resolves `ref` at its registry to this node's manifest and returns an import source for it.
 * Throws `RegistryError` (NotFound, Unauthorized, Unsupported for a platform the index does not
 * offer, ...) or `ImageError` for a malformed reference or manifest.
 */
export async function openPullSource(ref: string, options: PullOptions = {}): Promise<PullSource> {
  const parsed = parseReference(ref);
  const slash = parsed.repository.indexOf("/");
  const client = new RegistryClient(
    parsed.repository.slice(0, slash),
    parsed.repository.slice(slash + 1),
    options,
  );
  const reference = parsed.digest ?? parsed.tag!;
  const verified = new Map<string, Buffer>();
  let top = await client.getManifest(reference);
  let where = client.name(reference);
  const want = options.platform ?? hostPlatform();
  if (isIndex(top.mediaType)) {
    const manifests = parseIndex(parseJson(top.body.toString("utf8"), where), where);
    const chosen = selectPlatform(manifests, want);
    if (chosen === undefined) {
      const offered = manifests.map((m) => (m.platform ? formatPlatform(m.platform) : "(no platform)"));
      throw new RegistryError(
        "Unsupported",
        `${where}: no manifest for ${formatPlatform(want)}; the index offers ${offered.join(", ") || "nothing"}`,
        client.context(reference),
      );
    }
    top = await client.getManifest(chosen.digest);
    where = `${where} → ${client.name(chosen.digest)}`;
  }
  const { config, layers } = checkManifest(top, where, client, reference);
  verified.set(top.digest, top.body);
  // The config is small and says the platform: read it now, so a foreign image costs no layer download.
  const configBody = await client.readBlob(config, CONFIG_LIMIT);
  const image = parseImageConfig(
    parseJson(configBody.toString("utf8"), `config ${config.digest}`),
    `config ${config.digest}`,
  );
  if (
    (image.os !== "" && image.os !== want.os) ||
    (image.architecture !== "" && image.architecture !== want.architecture)
  ) {
    throw new RegistryError(
      "Unsupported",
      `${where}: the image is built for ${image.os || "?"}/${image.architecture || "?"}, not ${formatPlatform(want)}`,
      client.context(reference),
    );
  }
  verified.set(config.digest, configBody);
  const manifest = { mediaType: top.mediaType, digest: top.digest, size: top.body.length };
  return {
    reference: parsed.text,
    manifest,
    layers,
    diffIds: image.diffIds,
    fetcher: new RegistryFetcher(
      client,
      verified,
      options.maxBlobSize ?? Number.MAX_SAFE_INTEGER,
      options.onProgress,
    ),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    images: [{ descriptor: manifest, names: [parsed.text], where }],
  };
}

/** Refuses what the store cannot take, before anything is downloaded. */
function checkManifest(
  m: Manifest,
  where: string,
  client: RegistryClient,
  reference: string,
): { config: Descriptor; layers: Descriptor[] } {
  if (!isManifest(m.mediaType)) {
    throw new RegistryError(
      "Unsupported",
      `${where}: media type "${m.mediaType}" is not an OCI or Docker schema2 manifest or index`,
      client.context(reference),
    );
  }
  return parseManifest(parseJson(m.body.toString("utf8"), where), where);
}

/**
 * Downloads the layers of `source` into `sink`, {@link CONCURRENT_DOWNLOADS} at a time, skipping
 * those it holds; `stored` hears of each layer as soon as the sink holds it (downloaded or
 * present), so unpacking can start while the others still download. Returns the digests it added;
 * on failure it waits for the downloads under way, removes what it added, and throws the first
 * error.
 */
export async function fetchLayers(
  source: PullSource,
  sink: BlobSink,
  stored?: (desc: Descriptor) => void,
): Promise<string[]> {
  const added: string[] = [];
  const queue = [...new Map(source.layers.map((l) => [l.digest, l])).values()];
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    for (let desc = queue.shift(); desc !== undefined && failure === undefined; desc = queue.shift()) {
      try {
        if (await sink.ingest(desc, source.fetcher)) {
          added.push(desc.digest);
          ended(desc, "done", source.onProgress);
        } else {
          ended(desc, "present", source.onProgress);
        }
        stored?.(desc);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENT_DOWNLOADS }, worker));
  if (failure !== undefined) {
    for (const digest of added) await sink.remove(digest);
    throw failure.err;
  }
  return added;
}
