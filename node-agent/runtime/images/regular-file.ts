/**
 * Opens files of an image source (an OCI layout, an unpacked archive) without following symlinks
 * and only when they are regular files: a layout is untrusted input, and a blob that is a symlink
 * would let it make the store read any file of the node (or hang on a FIFO, or read /dev/zero
 * forever) under a digest of its choosing.
 */
import { constants } from "node:fs";
import { type FileHandle, lstat, open } from "node:fs/promises";
import { join } from "node:path";
import { ImageError } from "./errors.js";

/**
 * Opens `join(root, rel)` for reading. Every directory of `rel` beneath `root` must be a real
 * directory and the file itself a regular file (not a symlink, FIFO or device); otherwise
 * `InvalidImage` naming the path. ENOENT is passed through (callers word it themselves).
 * The caller owns the handle.
 */
export async function openRegularFile(root: string, rel: string): Promise<FileHandle> {
  const parts = rel.split("/");
  for (let i = 1; i < parts.length; i++) {
    const dir = join(root, ...parts.slice(0, i));
    const st = await lstat(dir);
    if (!st.isDirectory()) {
      throw new ImageError(
        "InvalidImage",
        `${dir} is ${st.isSymbolicLink() ? "a symlink" : "not a directory"}; image files are read only through real directories`,
      );
    }
  }
  const path = join(root, rel);
  let fh: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO must not hang; it has no effect on regular files.
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ELOOP") {
      throw new ImageError("InvalidImage", `${path} is a symlink; image files must be regular files`);
    }
    throw err;
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new ImageError("InvalidImage", `${path} is not a regular file`);
  }
  return fh;
}

/** The whole content of a regular file `rel` beneath `root`, as text (see {@link openRegularFile}). */
export async function readRegularFile(root: string, rel: string): Promise<string> {
  const fh = await openRegularFile(root, rel);
  try {
    return await fh.readFile("utf8");
  } finally {
    await fh.close();
  }
}
