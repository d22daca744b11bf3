/**
 * The user accounts of an image, read from its unpacked rootfs (/etc/passwd and /etc/group), to
 * turn an image's `USER name[:group]` or a uid into the numeric ids the runtime needs, as
 * containerd does for its `WithUser` and `WithAdditionalGIDs`.
 *
 * The rootfs is the image author's: every symlink in it is resolved as if the rootfs were `/`
 * (an absolute target restarts at the rootfs, `..` stops at it), like containerd's securejoin and
 * openat2(RESOLVE_IN_ROOT), so `/etc/passwd -> /etc/shadow` reads the image's own shadow file,
 * never the host's. Only regular files are read, with a size cap, so a FIFO or a device node in
 * the image cannot hang or flood the agent. The rootfs must not be in use by a running container
 * while it is read (the agent reads it between preparing it and starting the container).
 */
import { constants } from "node:fs";
import { lstat, open, readlink } from "node:fs/promises";
import { join } from "node:path";

/** Why an image's user could not be turned into ids; the pod sees it as CreateContainerConfigError. */
export class ImageUserError extends Error {
  override name = "ImageUserError";
}

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export interface Accounts {
  passwd: PasswdEntry[];
  groups: GroupEntry[];
}

const MAX_SYMLINKS = 40; // the kernel's limit too (ELOOP)
const MAX_ACCOUNT_FILE_BYTES = 4 << 20;

/**
 * The real path on the host of `path` (absolute or relative, read as absolute) inside `root`,
 * with every symlink on the way resolved inside `root`. The last component may be missing; a
 * missing directory on the way returns undefined.
 */
export async function resolveInRoot(root: string, path: string): Promise<string | undefined> {
  const pending = path.split("/").filter((p) => p !== "" && p !== ".");
  const resolved: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === "..") {
      resolved.pop();
      continue;
    }
    const here = join(root, ...resolved, name);
    const st = await lstat(here).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT" || err.code === "ENOTDIR") return undefined;
      throw err;
    });
    if (!st) return pending.length === 0 ? here : undefined;
    if (st.isSymbolicLink()) {
      if (++hops > MAX_SYMLINKS) throw new ImageUserError(`${path}: too many levels of symbolic links`);
      const target = await readlink(here);
      if (target.startsWith("/")) resolved.length = 0;
      pending.unshift(...target.split("/").filter((p) => p !== "" && p !== "."));
      continue;
    }
    if (pending.length > 0 && !st.isDirectory()) return undefined;
    resolved.push(name);
  }
  return join(root, ...resolved);
}

/**
 * The text of the regular file `path` inside `root` (symlinks resolved in root), or undefined when
 * it does not exist. Anything else than a regular file, or a file over 4 MiB, is an error.
 */
export async function readFileInRoot(root: string, path: string): Promise<string | undefined> {
  const real = await resolveInRoot(root, path);
  if (real === undefined) return undefined;
  // O_NOFOLLOW: the last component was checked not to be a symlink; refuse one that appeared since.
  // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat below refuses it.
  const file = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw new ImageUserError(`image file ${path}: ${err.message}`);
    },
  );
  if (!file) return undefined;
  try {
    const st = await file.stat();
    if (!st.isFile()) throw new ImageUserError(`image file ${path}: not a regular file`);
    if (st.size > MAX_ACCOUNT_FILE_BYTES)
      throw new ImageUserError(`image file ${path}: larger than ${MAX_ACCOUNT_FILE_BYTES} bytes`);
    return await file.readFile("utf8");
  } finally {
    await file.close();
  }
}

const idRe = /^\d+$/;

function parseId(text: string | undefined): number | undefined {
  return text !== undefined && idRe.test(text) && Number(text) <= 0xffffffff ? Number(text) : undefined;
}

/** passwd(5) lines `name:password:uid:gid:gecos:home:shell`; malformed lines are skipped, like libc. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    const uid = parseId(f[2]);
    const gid = parseId(f[3]);
    if (f[0] && uid !== undefined && gid !== undefined) out.push({ name: f[0], uid, gid });
  }
  return out;
}

/** group(5) lines `name:password:gid:member,member`. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    const gid = parseId(f[2]);
    if (f[0] && gid !== undefined)
      out.push({ name: f[0], gid, members: (f[3] ?? "").split(",").filter((m) => m !== "") });
  }
  return out;
}

/** Reads the image's /etc/passwd and /etc/group (each empty when missing). */
export async function readAccounts(rootfs: string): Promise<Accounts> {
  const [passwd, group] = await Promise.all([
    readFileInRoot(rootfs, "/etc/passwd"),
    readFileInRoot(rootfs, "/etc/group"),
  ]);
  return { passwd: parsePasswd(passwd ?? ""), groups: parseGroup(group ?? "") };
}

/** An image config's `User` split into its user and group parts ("" and undefined when absent). */
export function splitImageUser(user: string): { user: string; group: string | undefined } {
  const colon = user.indexOf(":");
  return colon < 0
    ? { user, group: undefined }
    : { user: user.slice(0, colon), group: user.slice(colon + 1) };
}

export function isNumericId(text: string): boolean {
  return parseId(text) !== undefined;
}

/**
 * The uid and primary gid of a user written as a uid or a name. A uid need not exist in
 * /etc/passwd (its gid is then 0, as with containerd); a name must.
 */
export function lookupUser(accounts: Accounts, user: string): { uid: number; gid: number; name?: string } {
  const uid = parseId(user);
  if (uid !== undefined) {
    const entry = accounts.passwd.find((e) => e.uid === uid);
    return entry ? { uid, gid: entry.gid, name: entry.name } : { uid, gid: 0 };
  }
  const entry = accounts.passwd.find((e) => e.name === user);
  if (!entry) throw new ImageUserError(`unable to find user ${user}: no matching entries in passwd file`);
  return { uid: entry.uid, gid: entry.gid, name: entry.name };
}

/** A group written as a gid or a name; a name must exist in /etc/group. */
export function lookupGroup(accounts: Accounts, group: string): number {
  const gid = parseId(group);
  if (gid !== undefined) return gid;
  const entry = accounts.groups.find((e) => e.name === group);
  if (!entry) throw new ImageUserError(`unable to find group ${group}: no matching entries in group file`);
  return entry.gid;
}

/** The gids of the groups listing `name` as a member (its supplementary groups in /etc/group). */
export function memberGroups(accounts: Accounts, name: string | undefined): number[] {
  if (name === undefined) return [];
  return accounts.groups.filter((g) => g.name !== name && g.members.includes(name)).map((g) => g.gid);
}
