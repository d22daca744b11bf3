/**
 * Unpacks one layer blob (tar, gzip-compressed or not) into a directory overlayfs can use as a lower
 * layer. Entries are checked on their way to GNU tar (see checked-extract-linux.ts: nothing is
 * written outside the layer, device nodes and FIFOs are skipped, the uncompressed size is limited).
 * The uncompressed stream is hashed on the way and must equal the layer's diffID. Whiteouts are
 * converted the way overlayfs expects: `.wh.NAME` becomes a 0:0 character device NAME, `.wh..wh..opq`
 * marks its directory with the xattr `trusted.overlay.opaque=y` (both applied by GNU tar from a
 * small archive written here, since Node has neither mknod nor setxattr). The layer is unpacked in
 * a temporary directory beside `target` and appears there by one rename, or not at all.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { lstat, mkdir, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { extractChecked, pipeUncompressed } from "./checked-extract-linux.js";
import { HashingStream } from "./digest.js";
import { ImageError } from "./errors.js";
import { SizeLimit } from "./size-limit.js";
import { type TarEntry, writeTar } from "./tar-writer.js";

export { detectCompression } from "./checked-extract-linux.js";

const TAR_BASE = ["--numeric-owner", "--same-owner", "--same-permissions", "--xattrs"];

export function diffIdMismatch(where: string, actual: string, diffId: string): ImageError {
  return new ImageError(
    "DigestMismatch",
    `${where}: uncompressed content is ${actual}, but the image config says ${diffId}`,
  );
}

/** The sha256 digest of the uncompressed content of a (possibly gzip) tar file of at most `maxBytes`. */
export async function diffIdOf(path: string, maxBytes: number, where: string): Promise<string> {
  const hasher = new HashingStream();
  await pipeUncompressed(
    path,
    [hasher, new SizeLimit(maxBytes, `${where}: uncompressed layer`)],
    async (s) => {
      for await (const _ of s);
    },
  );
  return hasher.digest();
}

/**
 * Unpacks `blobPath` into `target` (which must not exist yet) and checks that the uncompressed
 * stream is `diffId` and at most `maxBytes` long. `where` names the layer and its digest in errors
 * (`image X layers[2] (sha256:...)`). On any failure nothing is left beside `target`.
 */
export async function unpackLayer(
  blobPath: string,
  target: string,
  diffId: string,
  where: string,
  maxBytes: number,
): Promise<void> {
  const temp = join(dirname(target), `.tmp-${randomBytes(6).toString("hex")}`);
  try {
    await mkdir(temp, { mode: 0o755 });
    const extracted = await extractChecked({
      path: blobPath,
      dir: temp,
      maxBytes,
      what: `${where}: uncompressed layer`,
      whiteouts: true,
      tarOptions: [...TAR_BASE, "--xattrs-include=*", "--xattrs-exclude=trusted.overlay.*"],
    });
    // A digest mismatch explains a refusal or a tar failure too (corrupt content), so it is reported first.
    if (extracted.digest !== diffId) throw diffIdMismatch(where, extracted.digest, diffId);
    if (extracted.failure !== undefined)
      throw new ImageError("InvalidImage", `${where}: ${extracted.failure}`);
    await convertWhiteouts(temp, extracted.whiteouts, extracted.opaques, where);
    await rename(temp, target).catch(async (err: NodeJS.ErrnoException) => {
      // Another unpack of the same layer finished first; its result is identical.
      if (err.code !== "ENOTEMPTY" && err.code !== "EEXIST") throw err;
    });
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

/**
 * Replaces each whiteout's target by a 0:0 character device and marks opaque directories. The
 * paths were checked while extracting: they stay inside `dir` and no parent of theirs is a symlink.
 */
async function convertWhiteouts(
  dir: string,
  whiteouts: readonly string[],
  opaques: readonly string[],
  where: string,
): Promise<void> {
  const fixups: TarEntry[] = [];
  for (const path of opaques) {
    const st = await lstat(join(dir, path)).catch(() => undefined);
    fixups.push({
      path: path === "" ? "." : path,
      type: "directory",
      mode: st?.mode ?? 0o755,
      uid: st?.uid ?? 0,
      gid: st?.gid ?? 0,
      mtime: st ? st.mtimeMs / 1000 : 0,
      xattrs: { "trusted.overlay.opaque": "y" },
    });
  }
  for (const path of whiteouts) {
    await rm(join(dir, path), { recursive: true, force: true });
    fixups.push({ path, type: "char-device", mode: 0, uid: 0, gid: 0, mtime: 0 });
  }
  if (fixups.length === 0) return;
  await runTar(
    ["-x", "-f", "-", "-C", dir, ...TAR_BASE, "--xattrs-include=trusted.overlay.opaque"],
    writeTar(fixups),
    where,
  );
}

function runTar(args: string[], input: Buffer, where: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("tar", args, { stdio: ["pipe", "ignore", "pipe"] });
    const err: Buffer[] = [];
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.once("error", (e) =>
      reject(new ImageError("SystemError", `${where}: cannot run tar: ${e.message}`)),
    );
    child.once("close", (code) => {
      if (code === 0) resolve();
      else
        reject(
          new ImageError(
            "SystemError",
            `${where}: tar ${args.join(" ")} failed: ${Buffer.concat(err).toString().trim()}`,
          ),
        );
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(input);
  });
}
