/**
 * Extracts a tar file (gzip- or zstd-compressed, or not) into a fresh directory with nothing escaping it:
 * the uncompressed stream is size-limited and hashed, read here entry by entry, checked by
 * {@link LayerEntryPolicy}, and re-written as a clean archive for GNU tar, which does the writing
 * (owners, modes with setuid bits, xattrs, hard links) from names this reader normalised. GNU tar
 * therefore never parses the original headers, and a refused entry stops the extraction.
 */
import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { HashingStream } from "./digest.js";
import { ImageError } from "./errors.js";
import { LayerEntryPolicy, UnsafeEntryError } from "./layer-entry-policy.js";
import { SizeLimit } from "./size-limit.js";
import { TarFormatError, TarReader } from "./tar-reader.js";
import { END_OF_ARCHIVE, entryHeader, padding } from "./tar-writer.js";
import { zstdDecompress } from "./zstd-decompress-linux.js";

export type Compression = "gzip" | "zstd" | "none";

/** Compression of `path` by its magic bytes. */
export async function detectCompression(path: string): Promise<Compression> {
  const fh = await open(path, "r");
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
    if (bytesRead === 4 && head.readUInt32LE(0) === 0xfd2fb528) return "zstd";
    return "none";
  } finally {
    await fh.close();
  }
}

export interface ExtractOptions {
  /** The (possibly gzip) tar file. */
  path: string;
  /** An empty directory to extract into. */
  dir: string;
  /** Most uncompressed bytes to read; more is a `TooLarge` error. */
  maxBytes: number;
  /** Names the uncompressed stream in errors (`image X layers[0] (sha256:...): uncompressed layer`). */
  what: string;
  /** `.wh.*` entries are whiteouts (image layers), collected instead of written. */
  whiteouts: boolean;
  /** GNU tar's options for ownership, permissions and xattrs. */
  tarOptions: readonly string[];
}

export interface Extracted {
  /** sha256 of the whole uncompressed stream (read to its end even after a refusal). */
  digest: string;
  /** Why extraction stopped or tar failed; the directory then holds a partial result. */
  failure?: string;
  /** Paths (normalised, relative) that whiteouts hide. */
  whiteouts: string[];
  /** Directories (relative, `""` for the root) marked opaque. */
  opaques: string[];
}

/** Streams the uncompressed content of `path` through `stages` into `sink`. */
export async function pipeUncompressed(
  path: string,
  stages: readonly NodeJS.ReadWriteStream[],
  sink: (source: AsyncIterable<Buffer>) => Promise<void>,
): Promise<void> {
  const compression = await detectCompression(path);
  const run = pipeline as (...s: unknown[]) => Promise<void>;
  if (compression !== "zstd") {
    const gunzip = compression === "gzip" ? [createGunzip()] : [];
    await run(createReadStream(path), ...gunzip, ...stages, sink);
    return;
  }
  const zstd = zstdDecompress(path, path);
  try {
    await run(zstd.stream, ...stages, sink);
  } catch (err) {
    zstd.stop();
    await zstd.done.catch(() => undefined);
    throw err;
  }
  await zstd.done;
}

export async function extractChecked(opts: ExtractOptions): Promise<Extracted> {
  const child = spawn("tar", ["-x", "-f", "-", "-C", opts.dir, ...opts.tarOptions], {
    stdio: ["pipe", "ignore", "pipe"],
  });
  const stderr: Buffer[] = [];
  child.stderr.on("data", (d: Buffer) => stderr.push(d));
  const exited = new Promise<number>((resolve, reject) => {
    child.once("error", (err) =>
      reject(new ImageError("SystemError", `${opts.what}: cannot run tar: ${err.message}`)),
    );
    child.once("close", (code) => resolve(code ?? 1));
  });
  const hasher = new HashingStream();
  const result: Extracted = { digest: "", whiteouts: [], opaques: [] };
  const out = toChild(child.stdin);
  try {
    await pipeUncompressed(opts.path, [hasher, new SizeLimit(opts.maxBytes, opts.what)], async (source) => {
      const reader = new TarReader(source);
      try {
        await copyEntries(reader, new LayerEntryPolicy(opts.whiteouts), out, result);
        // Whatever follows the end-of-archive marker (tar pads to whole records) is content too.
        await reader.drain();
      } catch (err) {
        if (!(err instanceof UnsafeEntryError || err instanceof TarFormatError)) throw err;
        result.failure =
          err instanceof TarFormatError ? `not a readable tar archive: ${err.message}` : err.message;
        // Nothing more is written; the rest is read so the digest covers the whole stream.
        child.kill("SIGKILL");
        await reader.drain();
      }
    });
  } catch (err) {
    child.kill("SIGKILL");
    await exited.catch(() => undefined);
    if (err instanceof ImageError) throw err;
    throw new ImageError(
      "InvalidImage",
      `${opts.what}: cannot read ${opts.path}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  } finally {
    out.end();
  }
  const code = await exited;
  result.digest = hasher.digest();
  if (result.failure === undefined && code !== 0) {
    result.failure = `tar failed (exit ${code}): ${Buffer.concat(stderr).toString().trim()}`;
  }
  return result;
}

async function copyEntries(
  reader: TarReader,
  policy: LayerEntryPolicy,
  out: Writable,
  result: Extracted,
): Promise<void> {
  const write = async (chunk: Buffer) => {
    if (!out.write(chunk)) await new Promise((resolve) => out.once("drain", resolve));
  };
  for (let entry = await reader.next(); entry !== undefined; entry = await reader.next()) {
    const decision = policy.decide(entry);
    if (decision.action === "whiteout") result.whiteouts.push(decision.path);
    else if (decision.action === "opaque") result.opaques.push(decision.path);
    if (decision.action !== "write") continue;
    const xattrs = new Map([...entry.xattrs].filter(([k]) => !k.startsWith("trusted.overlay.")));
    await write(
      entryHeader({
        path: decision.path === "" ? "." : decision.path,
        type: decision.linkPath !== undefined ? "hardlink" : (entry.type as "file" | "directory" | "symlink"),
        mode: entry.mode,
        uid: entry.uid,
        gid: entry.gid,
        mtime: entry.mtime,
        size: entry.type === "file" && decision.linkPath === undefined ? entry.size : 0,
        xattrs,
        ...(decision.linkPath !== undefined
          ? { linkPath: decision.linkPath }
          : entry.type === "symlink"
            ? { linkPath: entry.linkName }
            : {}),
      }),
    );
    if (entry.type === "file" && decision.linkPath === undefined) {
      for await (const chunk of reader.data()) await write(chunk);
      await write(padding(entry.size));
    }
  }
  await write(END_OF_ARCHIVE);
}

/**
 * A sink that feeds tar's stdin and keeps accepting (so the hash covers the whole stream) after
 * tar stops reading at its end-of-archive marker or was stopped.
 */
function toChild(stdin: NodeJS.WritableStream): Writable {
  let closed = false;
  let pending: (() => void) | undefined;
  const release = () => {
    closed = true;
    pending?.();
    pending = undefined;
  };
  stdin.on("error", release);
  stdin.on("close", release);
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (closed || stdin.write(chunk)) return cb();
      pending = () => cb();
      stdin.once("drain", () => {
        pending = undefined;
        cb();
      });
    },
    final(cb) {
      if (!closed) stdin.end();
      cb();
    },
  });
}
