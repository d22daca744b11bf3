/**
 * Content digests (`sha256:<hex>`): validation of digests read from manifests, and hashing of
 * streams as they pass, so a blob is verified in the same pass that stores or unpacks it.
 */
import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { ImageError } from "./errors.js";

const SHA256 = /^sha256:([a-f0-9]{64})$/;

/** The hex part of a sha256 digest; throws `InvalidImage` naming `where` for anything else. */
export function digestHex(digest: unknown, where: string): string {
  const m = typeof digest === "string" ? SHA256.exec(digest) : null;
  if (!m) {
    const unsupported =
      typeof digest === "string" && /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(digest);
    throw new ImageError(
      unsupported ? "Unsupported" : "InvalidImage",
      `${where}: ${JSON.stringify(digest)} is not a sha256 digest`,
    );
  }
  return m[1]!;
}

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** A pass-through stream that hashes and counts what flows through it. */
export class HashingStream extends Transform {
  private readonly hash: Hash = createHash("sha256");
  size = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    done(null, chunk);
  }

  /** `sha256:<hex>` of everything that passed; call once, after the stream ended. */
  digest(): string {
    return `sha256:${this.hash.digest("hex")}`;
  }
}
