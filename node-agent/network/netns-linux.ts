/**
 * Network namespaces held by a bind mount of their nsfs file (no pause process): the file exists and
 * is mounted for exactly as long as the pod's sandbox does, and unmounting it frees the namespace
 * once no container is left inside.
 */
import { statfs, unlink, writeFile } from "node:fs/promises";
import { mustRunTool, runTool } from "./commands-linux.js";
import { NetworkError } from "./errors.js";

const NSFS_MAGIC = 0x6e736673;

/** True when `path` is a mounted network-namespace file. */
export async function isNetnsMounted(path: string): Promise<boolean> {
  try {
    return (await statfs(path)).type === NSFS_MAGIC;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

/**
 * Creates a new network namespace bound at `path` and runs `argv` inside it with `input` on stdin,
 * in one spawn (`unshare --net=PATH argv...`). `path` must not be a mounted namespace already
 * (callers remove a stale one first with {@link removeNetns}).
 */
export async function createNetnsAndRun(path: string, argv: readonly string[], input: string): Promise<void> {
  if (await isNetnsMounted(path)) {
    throw new NetworkError("CommandFailed", `network namespace ${path} already exists`);
  }
  await writeFile(path, "", { flag: "a", mode: 0o444 });
  await mustRunTool(["unshare", `--net=${path}`, ...argv], input);
}

/** Unmounts (every stacked mount of) the namespace at `path` and deletes the file. Idempotent. */
export async function removeNetns(path: string): Promise<void> {
  for (let round = 0; (await isNetnsMounted(path)) && round < 8; round++) {
    const res = await runTool(["umount", path]);
    if (res.code !== 0) await mustRunTool(["umount", "--lazy", path]);
  }
  if (await isNetnsMounted(path))
    throw new NetworkError("CommandFailed", `cannot unmount network namespace ${path}`);
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT") throw err;
  });
}
