/**
 * Mount points of this process's mount namespace, from /proc/self/mountinfo. Checking the mount
 * table (not statfs) tells a mount point from a directory that merely sits on the same kind of
 * filesystem, and shows how many times a path is stacked.
 */
import { readFile } from "node:fs/promises";

/** Mount points listed in mountinfo text, in mount order (parents first), octal escapes decoded. */
export function parseMountPoints(mountinfo: string): string[] {
  return mountinfo
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8))));
}

/** How many mounts are stacked exactly at `path`. */
export async function mountCount(path: string): Promise<number> {
  const points = parseMountPoints(await readFile("/proc/self/mountinfo", "utf8"));
  return points.filter((p) => p === path).length;
}
