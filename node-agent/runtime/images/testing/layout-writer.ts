/**
 * Writes small OCI image layouts for tests: given layer tars (bottom first), the blobs (layers
 * gzip-compressed), config, manifest, index.json and oci-layout, with digests that match.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { sha256Digest } from "../digest.js";
import { MediaType } from "../oci.js";

export interface WrittenLayout {
  /** Digests of the layer blobs (compressed), bottom first. */
  layerDigests: string[];
}

/** Writes an OCI layout at `out` whose layers are `tars` (bottom first), named `name`. */
export function writeLayout(out: string, tars: Buffer[], name: string): WrittenLayout {
  mkdirSync(join(out, "blobs", "sha256"), { recursive: true });
  const blob = (data: Buffer) => {
    const digest = sha256Digest(data);
    writeFileSync(join(out, "blobs", "sha256", digest.slice(7)), data);
    return { digest, size: data.length };
  };
  const config = blob(
    Buffer.from(
      JSON.stringify({
        os: "linux",
        rootfs: { type: "layers", diff_ids: tars.map((t) => sha256Digest(t)) },
        config: { Cmd: ["sh"] },
      }),
    ),
  );
  const layers = tars.map((t) => ({ mediaType: MediaType.ociLayerGzip, ...blob(gzipSync(t)) }));
  const manifest = blob(
    Buffer.from(
      JSON.stringify({ schemaVersion: 2, config: { mediaType: MediaType.ociConfig, ...config }, layers }),
    ),
  );
  writeFileSync(join(out, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(out, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        { mediaType: MediaType.ociManifest, ...manifest, annotations: { "io.containerd.image.name": name } },
      ],
    }),
  );
  return { layerDigests: layers.map((l) => l.digest) };
}
