/**
 * What COPY and ADD write into a step's root filesystem. The rootfs is an image's: every path in
 * it is resolved as if it were `/` (node-agent's resolveInRoot), so a symlink in a base image
 * (`/app -> /`) can never make a copy land on the host. Sources are read with lstat and never
 * followed: a symlink is copied as a symlink.
 */
import {
  chmod,
  copyFile,
  lchown,
  lstat,
  lutimes,
  mkdir,
  readdir,
  readlink,
  rm,
  symlink,
} from "node:fs/promises";
import { dirname, join, posix, relative } from "node:path";
import { resolveInRoot } from "../../node-agent/runtime/oci/image-user.js";
import { BuildError } from "./errors.js";

export interface CopyOwnership {
  /** Owner of every copied entry; the source's own when absent. */
  owner?: { uid: number; gid: number };
  /** Mode bits of every copied entry; the source's own when absent. */
  mode?: number;
  /** Entries of a source directory to leave out (what .dockerignore excludes), by host path. */
  skip?: (source: string) => boolean;
}

/**
 * The host path of directory `path` in `root`, made (0755, owned by `owner`, root by default)
 * where missing, through symlinks resolved inside `root` (a link to a missing directory makes that
 * directory, as docker build does).
 */
export async function mkdirInRoot(
  root: string,
  path: string,
  owner = { uid: 0, gid: 0 },
  hops = 0,
): Promise<string> {
  let host = root;
  for (const part of path.split("/").filter((p) => p !== "" && p !== ".")) {
    if (part === "..") {
      if (host !== root) host = dirname(host);
      continue;
    }
    const next = join(host, part);
    const st = await lstat(next).catch(() => undefined);
    if (st === undefined) {
      await mkdir(next, { mode: 0o755 });
      await lchown(next, owner.uid, owner.gid);
      host = next;
    } else if (st.isSymbolicLink()) {
      if (hops >= 40) throw new BuildError("Invalid", `${path}: too many levels of symbolic links`);
      const target = await readlink(next);
      const here = `/${relative(root, host)}`;
      host = await mkdirInRoot(
        root,
        target.startsWith("/") ? target : posix.join(here, target),
        owner,
        hops + 1,
      );
    } else if (st.isDirectory()) {
      host = next;
    } else {
      throw new BuildError("Invalid", `${path}: ${part} exists in the image and is not a directory`);
    }
  }
  return host;
}

/**
 * Copies host entry `source` (file, symlink or directory with its contents) to `dest`, a path in
 * `root` whose parent exists.
 */
export async function copyIntoRoot(
  source: string,
  root: string,
  dest: string,
  own: CopyOwnership,
): Promise<void> {
  const st = await lstat(source);
  const owner = own.owner ?? { uid: st.uid, gid: st.gid };
  const mode = own.mode ?? st.mode & 0o7777;
  if (st.isDirectory()) {
    const host = await resolveInRoot(root, dest);
    if (host === undefined)
      throw new BuildError("Invalid", `${dest}: a parent is not a directory in the image`);
    const existing = await lstat(host).catch(() => undefined);
    if (existing === undefined) {
      await mkdir(host, { mode: 0o700 });
    } else if (!existing.isDirectory()) {
      throw new BuildError("Invalid", `${dest}: exists in the image and is not a directory`);
    }
    if (existing === undefined || own.mode !== undefined) await chmod(host, mode);
    if (existing === undefined || own.owner !== undefined) await lchown(host, owner.uid, owner.gid);
    for (const name of (await readdir(source)).sort()) {
      if (own.skip?.(join(source, name))) continue;
      await copyIntoRoot(join(source, name), root, posix.join(dest, name), own);
    }
    await lutimes(host, st.atime, st.mtime);
    return;
  }
  const host = await resolveInRoot(root, dest);
  if (host === undefined)
    throw new BuildError("Invalid", `${dest}: a parent is not a directory in the image`);
  const existing = await lstat(host).catch(() => undefined);
  if (existing?.isDirectory()) throw new BuildError("Invalid", `${dest}: is a directory in the image`);
  if (st.isSymbolicLink()) {
    if (existing !== undefined) await rm(host);
    await symlink(await readlink(source), host);
  } else if (st.isFile()) {
    if (existing !== undefined) await rm(host);
    await copyFile(source, host);
    await chmod(host, mode);
  } else {
    throw new BuildError("Invalid", `${source}: only files, directories and symlinks can be copied`);
  }
  await lchown(host, owner.uid, owner.gid);
  await lutimes(host, st.atime, st.mtime);
}
