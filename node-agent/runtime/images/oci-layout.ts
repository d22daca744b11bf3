/**
 * Reads an OCI image layout directory (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`) as an import
 * source. Names come from the `io.containerd.image.name` annotation or, when it is a full
 * reference, `org.opencontainers.image.ref.name`.
 */
import { lstat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type { BlobFetcher } from "./blob-store.js";
import { digestHex } from "./digest.js";
import { ImageError } from "./errors.js";
import type { ImportSource } from "./import-source.js";
import { type Descriptor, parseIndex, parseJson } from "./oci.js";
import { openRegularFile, readRegularFile } from "./regular-file.js";

class LayoutFetcher implements BlobFetcher {
  constructor(private readonly dir: string) {}

  locate(desc: Descriptor): string {
    return join(this.dir, blobPath(desc));
  }

  async fetch(desc: Descriptor): Promise<Readable> {
    try {
      return (await openRegularFile(this.dir, blobPath(desc))).createReadStream();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      throw new ImageError(
        "InvalidImage",
        `blob ${desc.digest} is missing from the layout (${this.locate(desc)})`,
      );
    }
  }
}

function blobPath(desc: Descriptor): string {
  return `blobs/sha256/${digestHex(desc.digest, "descriptor digest")}`;
}

/** True when `dir` looks like an OCI layout (has an `oci-layout` entry, which must then be a file). */
export async function isOciLayout(dir: string): Promise<boolean> {
  return lstat(join(dir, "oci-layout")).then(
    () => true,
    () => false,
  );
}

export async function readOciLayout(dir: string): Promise<ImportSource> {
  const marker = join(dir, "oci-layout");
  let layout: unknown;
  try {
    layout = parseJson(await readRegularFile(dir, "oci-layout"), marker);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new ImageError("InvalidImage", `${dir} is not an OCI image layout: ${marker} is missing`);
    }
    throw err;
  }
  if ((layout as { imageLayoutVersion?: unknown }).imageLayoutVersion !== "1.0.0") {
    throw new ImageError("Unsupported", `${marker}: imageLayoutVersion must be "1.0.0"`);
  }
  const indexPath = join(dir, "index.json");
  let text: string;
  try {
    text = await readRegularFile(dir, "index.json");
  } catch (err) {
    if (err instanceof ImageError) throw err;
    throw new ImageError("InvalidImage", `${dir} is not an OCI image layout: cannot read ${indexPath}`);
  }
  const manifests = parseIndex(parseJson(text, indexPath), indexPath);
  return {
    fetcher: new LayoutFetcher(dir),
    images: manifests.map((descriptor, i) => ({
      descriptor,
      names: namesOf(descriptor),
      where: `${indexPath} manifests[${i}]`,
    })),
  };
}

function namesOf(desc: Descriptor): string[] {
  const a = desc.annotations ?? {};
  const full = a["io.containerd.image.name"];
  if (full) return [full];
  const ref = a["org.opencontainers.image.ref.name"];
  // A bare tag ("1.0") is not a name on its own; the importer must then be given --name.
  return ref && /[/:]/.test(ref) ? [ref] : [];
}
