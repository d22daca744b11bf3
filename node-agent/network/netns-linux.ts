/**
 * Network namespaces held by a bind mount of their nsfs file (no pause process): the file exists and
 * is mounted for exactly as long as the pod's sandbox does, and unmounting it frees the namespace
 * once no container is left inside. The sandbox helper (sandbox-net) binds and unmounts them.
 */
import { statfs } from "node:fs/promises";

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
