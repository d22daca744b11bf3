/**
 * Unpacks one layer blob (tar, gzip-compressed or not) into a directory overlayfs can use as a lower
 * layer. GNU tar does the extraction (owners, modes, devices, hard links, xattrs; it refuses `..`
 * members and defers symlinks that could redirect later members out of the tree). The uncompressed
 * stream is hashed on its way to tar and must equal the layer's diffID. Whiteouts are converted the
 * way overlayfs expects: `.wh.NAME` becomes a 0:0 character device NAME, `.wh..wh..opq` marks its
 * directory with the xattr `trusted.overlay.opaque=y` (both applied by GNU tar from a small archive
 * written here, since Node has neither mknod nor setxattr). The result appears at `target` by one
 * rename, or not at all.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, mkdir, open, rename, rm, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { HashingStream } from "./digest.js";
import { ImageError } from "./errors.js";
import { type TarEntry, writeTar } from "./tar-writer.js";

const WHITEOUT = ".wh.";
const OPAQUE = ".wh..wh..opq";
const TAR_BASE = ["--numeric-owner", "--same-owner", "--same-permissions", "--xattrs"];

export type Compression = "gzip" | "none";

/** Compression of `path` by its magic bytes; zstd and others are `Unsupported`. */
export async function detectCompression(path: string): Promise<Compression> {
  const fh = await open(path, "r");
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
    if (bytesRead === 4 && head.readUInt32LE(0) === 0xfd2fb528) {
      throw new ImageError(
        "Unsupported",
        `layer ${path} is zstd-compressed; only gzip and plain tar are supported`,
      );
    }
    return "none";
  } finally {
    await fh.close();
  }
}

export function diffIdMismatch(where: string, actual: string, diffId: string): ImageError {
  return new ImageError(
    "DigestMismatch",
    `${where}: uncompressed content is ${actual}, but the image config says ${diffId}`,
  );
}

/** The sha256 digest of the uncompressed content of a (possibly gzip) tar file. */
export async function diffIdOf(path: string): Promise<string> {
  const hasher = new HashingStream();
  await pipeUncompressed(path, hasher, new Writable({ write: (_c, _e, cb) => cb() }));
  return hasher.digest();
}

/** Streams the uncompressed content of `path` through `hasher` into `sink`. */
async function pipeUncompressed(path: string, hasher: HashingStream, sink: Writable): Promise<void> {
  const source = createReadStream(path);
  if ((await detectCompression(path)) === "gzip") await pipeline(source, createGunzip(), hasher, sink);
  else await pipeline(source, hasher, sink);
}

/**
 * Unpacks `blobPath` into `target` (which must not exist yet) and checks that the uncompressed
 * stream is `diffId`. `where` names the layer in errors (`image X layer 2 (sha256:...)`).
 */
export async function unpackLayer(
  blobPath: string,
  target: string,
  diffId: string,
  where: string,
): Promise<void> {
  const temp = join(dirname(target), `.tmp-${randomBytes(6).toString("hex")}`);
  try {
    const { digest, failure } = await extract(blobPath, temp, where);
    // A digest mismatch explains a tar failure too (corrupt content), so it is reported first.
    if (digest !== diffId) {
      throw diffIdMismatch(where, digest, diffId);
    }
    if (failure !== undefined) throw new ImageError("InvalidImage", `${where}: ${failure}`);
    await convertWhiteouts(temp, where);
    await rename(temp, target).catch(async (err: NodeJS.ErrnoException) => {
      // Another unpack of the same layer finished first; its result is identical.
      if (err.code !== "ENOTEMPTY" && err.code !== "EEXIST") throw err;
    });
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

/** Extracts the layer into `dir`; returns the digest of the uncompressed stream and tar's verdict. */
async function extract(
  blobPath: string,
  dir: string,
  where: string,
): Promise<{ digest: string; failure?: string }> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { mode: 0o755 });
  const child = spawn(
    "tar",
    ["-x", "-f", "-", "-C", dir, ...TAR_BASE, "--xattrs-include=*", "--xattrs-exclude=trusted.overlay.*"],
    { stdio: ["pipe", "ignore", "pipe"] },
  );
  const stderr: Buffer[] = [];
  child.stderr.on("data", (d: Buffer) => stderr.push(d));
  const exited = new Promise<number>((resolve, reject) => {
    child.once("error", (err) =>
      reject(new ImageError("SystemError", `${where}: cannot run tar: ${err.message}`)),
    );
    child.once("close", (code) => resolve(code ?? 1));
  });
  const hasher = new HashingStream();
  await pipeUncompressed(blobPath, hasher, toChild(child.stdin)).catch((err: Error) => {
    child.kill();
    throw new ImageError("InvalidImage", `${where}: cannot read layer ${blobPath}: ${err.message}`, {
      cause: err,
    });
  });
  const code = await exited;
  const digest = hasher.digest();
  return code === 0
    ? { digest }
    : { digest, failure: `tar failed (exit ${code}): ${Buffer.concat(stderr).toString().trim()}` };
}

/**
 * A sink that feeds tar's stdin and keeps consuming (so the hash covers the whole stream) after tar
 * stops reading at its end-of-archive marker.
 */
function toChild(stdin: NodeJS.WritableStream & { destroyed?: boolean }): Writable {
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

async function convertWhiteouts(dir: string, where: string): Promise<void> {
  const found = await listWhiteouts(dir, where);
  if (found.length === 0) return;
  const fixups: TarEntry[] = [];
  for (const rel of found) {
    const parent = dirname(rel);
    const name = basename(rel);
    await unlink(join(dir, rel));
    if (name === OPAQUE) {
      const st = await lstat(join(dir, parent));
      fixups.push({
        path: parent,
        type: "directory",
        mode: st.mode,
        uid: st.uid,
        gid: st.gid,
        mtime: st.mtimeMs / 1000,
        xattrs: { "trusted.overlay.opaque": "y" },
      });
    } else if (!name.startsWith(`${WHITEOUT}${WHITEOUT}`)) {
      // Other `.wh..wh.*` names are aufs bookkeeping with no meaning for overlayfs: dropped.
      const hidden = join(parent, name.slice(WHITEOUT.length));
      await rm(join(dir, hidden), { recursive: true, force: true });
      fixups.push({ path: hidden, type: "char-device", mode: 0, uid: 0, gid: 0, mtime: 0 });
    }
  }
  if (fixups.length === 0) return;
  await runTar(
    ["-x", "-f", "-", "-C", dir, ...TAR_BASE, "--xattrs-include=trusted.overlay.opaque"],
    writeTar(fixups),
    where,
  );
}

/** Relative paths of every `.wh.*` entry beneath `dir` (symlinks not followed). */
async function listWhiteouts(dir: string, where: string): Promise<string[]> {
  const out = await runProcess("find", [".", "-name", `${WHITEOUT}*`, "-print0"], dir, undefined, where);
  return out
    .split("\0")
    .filter((p) => p !== "")
    .map((p) => p.replace(/^\.\//, ""));
}

async function runTar(args: string[], input: Buffer, where: string): Promise<void> {
  await runProcess("tar", args, undefined, input, where);
}

function runProcess(
  cmd: string,
  args: string[],
  cwd: string | undefined,
  input: Buffer | undefined,
  where: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: [input ? "pipe" : "ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on("data", (d: Buffer) => out.push(d));
    child.stderr!.on("data", (d: Buffer) => err.push(d));
    child.once("error", (e) =>
      reject(new ImageError("SystemError", `${where}: cannot run ${cmd}: ${e.message}`)),
    );
    child.once("close", (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString());
      else
        reject(
          new ImageError(
            "SystemError",
            `${where}: ${cmd} ${args.join(" ")} failed: ${Buffer.concat(err).toString().trim()}`,
          ),
        );
    });
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(input);
  });
}
