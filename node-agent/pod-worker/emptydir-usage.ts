/**
 * How much disk a pod's disk-backed emptyDir volumes use, against their `sizeLimit`, for the
 * kubelet's local-storage eviction: a pod whose emptyDir grows past its limit is evicted. (A
 * `medium: Memory` emptyDir is a tmpfs mounted with the limit as its size, so the kernel bounds it.)
 */
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { quantityValue } from "../../foundation/api/quantity.js";
import type { Pod } from "../../proto/gen/api.js";

/**
 * Bytes allocated under `dir`, as `du` counts them: blocks of every entry, hard links once, without
 * following symlinks or crossing into other filesystems (a mount inside is not the volume's).
 */
export async function diskUsage(dir: string): Promise<number> {
  const root = await lstat(dir, { bigint: true }).catch(() => undefined);
  if (!root) return 0;
  const seen = new Set<bigint>();
  let bytes = 0;
  const walk = async (path: string): Promise<void> => {
    const entries = await readdir(path).catch(() => [] as string[]);
    for (const name of entries) {
      const child = join(path, name);
      const st = await lstat(child, { bigint: true }).catch(() => undefined);
      if (!st || st.dev !== root.dev) continue;
      if (st.nlink > 1n) {
        if (seen.has(st.ino)) continue;
        seen.add(st.ino);
      }
      bytes += Number(st.blocks) * 512;
      if (st.isDirectory()) await walk(child);
    }
  };
  bytes += Number(root.blocks) * 512;
  await walk(dir);
  return bytes;
}

export interface EmptyDirOverLimit {
  volume: string;
  limit: string;
  usage: number;
  /** The kubelet's eviction message. */
  message: string;
}

/** The first disk-backed emptyDir of the pod that uses more than its sizeLimit, if any. */
export async function emptyDirOverLimit(
  pod: Pod,
  pathOf: (volume: string) => string | undefined,
): Promise<EmptyDirOverLimit | undefined> {
  for (const v of pod.spec?.volumes ?? []) {
    const limit = v.emptyDir?.sizeLimit;
    if (!limit || v.emptyDir?.medium === "Memory") continue;
    const path = pathOf(v.name ?? "");
    if (!path) continue;
    const usage = await diskUsage(path);
    if (usage > quantityValue(limit)) {
      const message = `Usage of EmptyDir volume "${v.name}" exceeds the limit "${limit}". `;
      return { volume: v.name ?? "", limit, usage, message };
    }
  }
  return undefined;
}
