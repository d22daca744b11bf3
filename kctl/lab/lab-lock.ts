/**
 * A host-wide lock around choosing a lab's subnet and creating its network, so two `lab up` running
 * at once cannot pick the same /16. The lock is a file holding the owner's pid; a lock whose owner
 * is gone is stale and taken over.
 */
import { existsSync } from "node:fs";
import { mkdir, open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { LabError } from "./errors.js";

export type Release = () => Promise<void>;

/** Host-wide, whatever registry a lab uses: labs with different registries still share subnets. */
export const HOST_LOCK_DIR = "/run/kctl";

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

async function ownerGone(file: string): Promise<boolean> {
  const pid = (await readFile(file, "utf8").catch(() => "")).trim();
  // An empty file is a lock being written right now, not a stale one.
  return pid !== "" && !existsSync(`/proc/${pid}`);
}

/** Takes the lock in `dir`, waiting up to `timeoutMs` for another holder. */
export async function takeLabLock(dir: string, timeoutMs = 30_000): Promise<Release> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, ".lock");
  const deadline = Date.now() + timeoutMs;
  while (!(await tryTake(file))) {
    if (await ownerGone(file)) {
      await rm(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new LabError(
        "Busy",
        `another lab is being created (lock ${file}); try again, or remove the lock if stale`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return () => rm(file, { force: true });
}
