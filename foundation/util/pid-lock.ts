/**
 * A lock that is a file holding its owner's pid, created exclusively. A lock whose owner is gone
 * (no /proc/<pid>) is stale and taken over, so a holder killed with -9 does not wedge the next one.
 */
import { existsSync } from "node:fs";
import { mkdir, open, readFile, rm } from "node:fs/promises";
import { dirname } from "node:path";

export type Release = () => Promise<void>;

export class PidLockBusyError extends Error {
  constructor(
    readonly file: string,
    /** The holder's pid as the file says it. */
    readonly holder: string,
  ) {
    super(`${file} is held by pid ${holder}`);
    this.name = "PidLockBusyError";
  }
}

async function tryTake(file: string): Promise<boolean> {
  try {
    const fh = await open(file, "wx", 0o600);
    await fh.writeFile(String(process.pid));
    await fh.close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
}

const holderOf = async (file: string) => (await readFile(file, "utf8").catch(() => "")).trim();

/** Takes the lock `file`, waiting up to `timeoutMs` for a live holder; throws PidLockBusyError after that. */
export async function takePidLock(file: string, timeoutMs = 0): Promise<Release> {
  await mkdir(dirname(file), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  while (!(await tryTake(file))) {
    const holder = await holderOf(file);
    // An empty file is a lock being written right now, not a stale one.
    if (holder !== "" && !existsSync(`/proc/${holder}`)) {
      await rm(file, { force: true });
      continue;
    }
    if (Date.now() >= deadline) throw new PidLockBusyError(file, holder);
    await new Promise((r) => setTimeout(r, 100));
  }
  return () => rm(file, { force: true });
}
