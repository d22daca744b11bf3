/**
 * Writes the files of a configMap, secret or downwardAPI volume the way the kubelet's atomic writer
 * does, so that a reader in the pod never sees half an update and nothing the pod placed in the
 * directory can redirect the agent's writes:
 *
 *   <dir>/..2026_12_06_19_57_11.1234   the files of one version, in a directory made fresh for it
 *   <dir>/..data -> ..2026_12_06_...    swapped with one rename when a new version is complete
 *   <dir>/<name> -> ..data/<name>       one symlink per top-level name the pod sees
 *
 * Files are only ever created in a directory this writer has just made, with O_EXCL|O_NOFOLLOW, and
 * old entries are unlinked, never opened, so a symlink planted in the volume (by a pod that once had
 * it writable, or by a pod sharing it) is replaced, not followed. Top-level names starting with ".."
 * are reserved for the writer.
 */
import { constants } from "node:fs";
import { chmod, lstat, mkdir, mkdtemp, open, readdir, readlink, rename, rm, symlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export interface PayloadFile {
  data: string | Uint8Array;
  /** Permission bits, e.g. 0o644. */
  mode: number;
}

/** Relative path (slash-separated) → content. */
export type Payload = ReadonlyMap<string, PayloadFile>;

export class PayloadPathError extends Error {
  constructor(
    readonly path: string,
    why: string,
  ) {
    super(`path "${path}": ${why}`);
    this.name = "PayloadPathError";
  }
}

const DATA = "..data";
const DATA_TMP = "..data_tmp";
const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;

function checkPath(path: string): void {
  if (path === "") throw new PayloadPathError(path, "must not be empty");
  if (path.startsWith("/")) throw new PayloadPathError(path, "must be a relative path");
  const parts = path.split("/");
  if (parts.includes("..")) throw new PayloadPathError(path, "must not contain '..'");
  if (parts[0]!.startsWith("..")) throw new PayloadPathError(path, "must not start with '..'");
  if (parts.some((p) => p === "" || p === ".")) throw new PayloadPathError(path, "must be a clean path");
}

/** The writer's timestamped directory name prefix, like the kubelet's `..2006_01_02_15_04_05.`. */
function versionPrefix(now: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `..${now.getUTCFullYear()}_${p(now.getUTCMonth() + 1)}_${p(now.getUTCDate())}_${p(now.getUTCHours())}_${p(now.getUTCMinutes())}_${p(now.getUTCSeconds())}.`;
}

async function readNoFollow(path: string): Promise<{ data: Buffer; mode: number } | undefined> {
  const fh = await open(path, READ_FLAGS).catch(() => undefined);
  if (!fh) return undefined;
  try {
    const st = await fh.stat();
    if (!st.isFile()) return undefined;
    return { data: await fh.readFile(), mode: st.mode & 0o7777 };
  } finally {
    await fh.close();
  }
}

/** Whether the version `..data` points at holds exactly the payload (names, bytes and modes). */
async function currentMatches(dir: string, payload: Payload): Promise<boolean> {
  const target = await readlink(join(dir, DATA)).catch(() => undefined);
  if (!target || target.includes("/") || !target.startsWith("..")) return false;
  const version = join(dir, target);
  const present = await listFiles(version).catch(() => undefined);
  if (!present || present.length !== payload.size) return false;
  for (const [path, want] of payload) {
    const have = await readNoFollow(join(version, path));
    if (!have || have.mode !== want.mode || !have.data.equals(Buffer.from(want.data))) return false;
  }
  return true;
}

/** Relative paths of the regular files under `root`, not following symlinks. */
async function listFiles(root: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(root, rel)));
    else out.push(rel);
  }
  return out;
}

async function writeVersion(version: string, payload: Payload): Promise<void> {
  for (const [path, file] of payload) {
    const target = join(version, path);
    // The version directory is new and only this writer writes in it, so a recursive mkdir there
    // meets nothing the pod made.
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    const fh = await open(target, WRITE_FLAGS, file.mode);
    try {
      await fh.writeFile(file.data);
      await fh.chmod(file.mode); // the umask narrowed the mode open gave it
    } finally {
      await fh.close();
    }
  }
}

/**
 * Makes `dir` show exactly `payload`. Returns false when it already did (nothing written), true
 * when a new version was swapped in. `dir` itself must be a directory only the agent writes to.
 */
export async function writeAtomic(dir: string, payload: Payload, now = new Date()): Promise<boolean> {
  for (const path of payload.keys()) checkPath(path);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  if (await currentMatches(dir, payload)) return false;

  const version = await mkdtemp(join(dir, versionPrefix(now)));
  try {
    // mkdtemp makes it 0700: a container running as another user could not reach its files.
    await chmod(version, 0o755);
    await writeVersion(version, payload);
    await rm(join(dir, DATA_TMP), { force: true });
    await symlink(basename(version), join(dir, DATA_TMP));
    await rename(join(dir, DATA_TMP), join(dir, DATA));
  } catch (err) {
    await rm(version, { recursive: true, force: true });
    throw err;
  }

  const visible = new Set([...payload.keys()].map((p) => p.split("/")[0]!));
  for (const name of visible) {
    const link = join(dir, name);
    const want = `${DATA}/${name}`;
    const st = await lstat(link).catch(() => undefined);
    if (st?.isSymbolicLink() && (await readlink(link)) === want) continue;
    if (st) await rm(link, { recursive: true, force: true }); // unlinks a symlink, never follows it
    await symlink(want, link);
  }
  for (const name of await readdir(dir)) {
    const stale = name.startsWith("..") ? name !== DATA && name !== basename(version) : !visible.has(name);
    if (stale) await rm(join(dir, name), { recursive: true, force: true });
  }
  return true;
}
