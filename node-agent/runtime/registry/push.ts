/**
 * Pushes an image from the node's image store to a registry: each blob (config, then layers) is
 * skipped when the registry has it (HEAD), mounted from another repository of the same registry
 * when one is named, or uploaded (POST, then one PUT, or PATCH chunks and a closing PUT for blobs
 * over the chunk size); the manifest is PUT last, so the tag never names an image whose blobs are
 * missing. The manifest bytes are pushed unchanged, so its digest stays the same.
 */
import { createReadStream } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { BlobStore } from "../images/blob-store.js";
import type { ImageStore } from "../images/image-store.js";
import { type Descriptor, MediaType, parseJson, parseManifest } from "../images/oci.js";
import { parseReference } from "../images/reference.js";
import { type ClientOptions, RegistryClient } from "./client.js";
import { RegistryError } from "./errors.js";
import { drain } from "./http.js";
import { counted, ended, type ProgressListener } from "./progress.js";

export interface PushOptions extends ClientOptions {
  /** A repository on the same registry that may hold the blobs (`team/base`): mount, not upload. */
  mountFrom?: string;
  /** Blobs larger than this many bytes are uploaded in PATCH chunks of this size. Default 16 MiB. */
  chunkSize?: number;
  /** Told the bytes of each blob as they upload, and how each ended. */
  onProgress?: ProgressListener;
}

export interface PushedImage {
  /** Canonical remote reference (`registry.example.com/team/app:v1`). */
  reference: string;
  manifestDigest: string;
  /** Blobs the registry lacked and was sent (mounted ones not included). */
  uploaded: string[];
  mounted: string[];
}

const DEFAULT_CHUNK = 16 << 20;

/**
 * Pushes the image `localRef` names in `store` to `remoteRef`. Throws `ImageError` NotFound when
 * the store lacks it, `RegistryError` for what the registry refuses.
 */
export async function pushImage(
  store: ImageStore,
  localRef: string,
  remoteRef: string,
  options: PushOptions = {},
): Promise<PushedImage> {
  const { manifestDigest } = await store.resolve(localRef);
  const blobs = new BlobStore(join(store.dir, "blobs"));
  const manifestText = await blobs.readText(manifestDigest);
  const where = `manifest ${manifestDigest}`;
  const manifestJson = parseJson(manifestText, where) as { mediaType?: unknown };
  const manifest = parseManifest(manifestJson, where);
  const mediaType =
    typeof manifestJson.mediaType === "string" ? manifestJson.mediaType : MediaType.ociManifest;

  const remote = parseReference(remoteRef);
  if (remote.digest !== undefined && remote.digest !== manifestDigest) {
    throw new RegistryError(
      "DigestMismatch",
      `push ${localRef} to ${remote.text}: the local image is ${manifestDigest}, not the digest the reference pins`,
    );
  }
  const slash = remote.repository.indexOf("/");
  const client = new RegistryClient(
    remote.repository.slice(0, slash),
    remote.repository.slice(slash + 1),
    options,
  );
  const result: PushedImage = { reference: remote.text, manifestDigest, uploaded: [], mounted: [] };
  const seen = new Set<string>();
  for (const desc of [manifest.config, ...manifest.layers]) {
    if (seen.has(desc.digest)) continue;
    seen.add(desc.digest);
    const how = await pushBlob(client, blobs, desc, options);
    ended(desc, how === "uploaded" ? "done" : how, options.onProgress);
    if (how === "uploaded") result.uploaded.push(desc.digest);
    if (how === "mounted") result.mounted.push(desc.digest);
  }
  const reference = remote.tag ?? manifestDigest;
  const res = await client.request({
    method: "PUT",
    path: `/manifests/${reference}`,
    headers: { "Content-Type": mediaType },
    body: Buffer.from(manifestText),
    ok: [201],
    push: true,
    reference,
  });
  drain(res);
  const answered = res.headers["docker-content-digest"];
  if (typeof answered === "string" && answered !== manifestDigest) {
    throw new RegistryError(
      "DigestMismatch",
      `${client.name(reference)}: the registry stored the manifest as ${answered}, not ${manifestDigest}`,
      client.context(reference),
    );
  }
  return result;
}

async function pushBlob(
  client: RegistryClient,
  blobs: BlobStore,
  desc: Descriptor,
  options: PushOptions,
): Promise<"present" | "mounted" | "uploaded"> {
  const head = await client.request({
    method: "HEAD",
    path: `/blobs/${desc.digest}`,
    ok: [200, 404],
    push: true,
    reference: desc.digest,
  });
  drain(head);
  if (head.status === 200) return "present";

  const mount = options.mountFrom !== undefined && options.mountFrom !== client.repository;
  const start = await client.request({
    method: "POST",
    path: mount
      ? `/blobs/uploads/?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(options.mountFrom!)}`
      : "/blobs/uploads/",
    ok: [201, 202],
    push: true,
    ...(mount ? { extraScopes: [`repository:${options.mountFrom}:pull`] } : {}),
    reference: desc.digest,
  });
  drain(start);
  if (start.status === 201) return "mounted";

  let location = uploadLocation(start.headers.location, client, desc);
  const chunk = options.chunkSize ?? DEFAULT_CHUNK;
  const path = blobs.path(desc.digest);
  // Chunks are read in order, so one counter over them all gives the blob's bytes so far.
  let sent = 0;
  const read = (start: number, end: number): Readable => {
    const stream = createReadStream(path, { start, end });
    if (!options.onProgress) return stream;
    const base = sent;
    sent = end + 1;
    const listener = options.onProgress;
    return counted(stream, desc, (e) => listener({ ...e, bytes: base + e.bytes }));
  };
  if (desc.size > chunk) {
    for (let offset = 0; offset < desc.size; offset += chunk) {
      const end = Math.min(offset + chunk, desc.size) - 1;
      const patch = await client.request({
        method: "PATCH",
        path: "",
        location,
        headers: {
          "Content-Type": "application/octet-stream",
          "Content-Length": String(end - offset + 1),
          "Content-Range": `${offset}-${end}`,
        },
        body: read(offset, end),
        ok: [202],
        push: true,
        reference: desc.digest,
      });
      drain(patch);
      location = uploadLocation(patch.headers.location, client, desc);
    }
  }
  const monolithic = desc.size <= chunk;
  const url = new URL(location, "http://placeholder");
  url.searchParams.set("digest", desc.digest);
  const put = await client.request({
    method: "PUT",
    path: "",
    location: location.replace(/\?.*$/, "") + url.search,
    headers: {
      "Content-Type": "application/octet-stream",
      "Content-Length": String(monolithic ? desc.size : 0),
    },
    ...(monolithic ? { body: read(0, Math.max(desc.size - 1, 0)) } : {}),
    ok: [201],
    push: true,
    reference: desc.digest,
  });
  drain(put);
  return "uploaded";
}

function uploadLocation(
  value: string | string[] | undefined,
  client: RegistryClient,
  desc: Descriptor,
): string {
  const location = Array.isArray(value) ? value[0] : value;
  if (location === undefined || location === "") {
    throw new RegistryError(
      "BadResponse",
      `${client.name(desc.digest)}: upload answer has no Location`,
      client.context(desc.digest),
    );
  }
  return location;
}
