/**
 * Content-addressed blob storage at `<images>/blobs/sha256/<hex>`. A blob enters only through
 * {@link BlobStore.ingest}, which hashes it while writing a temporary file and renames it into place
 * only when the digest (and size, when known) match, so a stored blob is always the content its name
 * says, and a bad one leaves nothing.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { access, mkdir, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { digestHex, HashingStream } from "./digest.js";
import { ImageError } from "./errors.js";
import type { Descriptor } from "./oci.js";
import { SizeLimit } from "./size-limit.js";

/** Where blobs come from: an OCI layout on disk, a converted docker archive, later a registry. */
export interface BlobFetcher {
  /** Opens the content of `desc`; the store verifies it, so a fetcher need not. */
  fetch(desc: Descriptor): Promise<Readable>;
  /** Where `desc` is read from (file path, URL), for error messages. */
  locate(desc: Descriptor): string;
}

export class BlobStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  path(digest: string): string {
    return join(this.dir, "sha256", digestHex(digest, "blob digest"));
  }

  async has(digest: string): Promise<boolean> {
    try {
      await access(this.path(digest));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Stores the blob `desc` from `fetcher` unless already present; returns true when it was added.
   * Throws `DigestMismatch` naming the blob and its source when the content does not match.
   */
  async ingest(desc: Descriptor, fetcher: BlobFetcher): Promise<boolean> {
    const target = this.path(desc.digest);
    if (await this.has(desc.digest)) return false;
    await mkdir(join(this.dir, "sha256"), { recursive: true });
    const temp = join(this.dir, "sha256", `.tmp-${randomBytes(6).toString("hex")}`);
    const hasher = new HashingStream();
    try {
      await pipeline(
        await fetcher.fetch(desc),
        // The descriptor's size bounds the read: a source cannot feed an endless stream.
        new SizeLimit(desc.size, `blob ${desc.digest} from ${fetcher.locate(desc)} (its descriptor's size)`),
        hasher,
        createWriteStream(temp, { flags: "wx", mode: 0o444 }),
      );
      const actual = hasher.digest();
      if (actual !== desc.digest || hasher.size !== desc.size) {
        throw new ImageError(
          "DigestMismatch",
          `blob ${desc.digest} from ${fetcher.locate(desc)} does not match its descriptor: ` +
            `content is ${actual} (${hasher.size} bytes), expected ${desc.digest} (${desc.size} bytes)`,
        );
      }
      await rename(temp, target);
      return true;
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  async readText(digest: string): Promise<string> {
    try {
      return await readFile(this.path(digest), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") {
        throw new ImageError("NotFound", `blob ${digest} is not in the store (${this.path(digest)})`);
      }
      throw err;
    }
  }

  async remove(digest: string): Promise<void> {
    await unlink(this.path(digest)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
  }
}
