/**
 * Finds and undoes mounts beneath the lab directory (pod netns bind mounts, overlay rootfs, any
 * mount an agent made under its state dir). Children go before parents (reverse mount order), and
 * a mount that stays busy is detached lazily so teardown never leaves a mount point behind.
 */
import { readFile } from "node:fs/promises";
import { unescapeMountPath } from "../../node-agent/cgroups/hierarchies-linux.js";
import { LabError } from "./errors.js";
import { runCommand } from "./run-command.js";

/** Mount points at or beneath `dir`, in the order they appear in mountinfo (parents first). */
export function mountsBeneath(mountinfo: string, dir: string): string[] {
  const base = dir.replace(/\/+$/, "");
  const points: string[] = [];
  for (const line of mountinfo.split("\n")) {
    const point = line.split(" ")[4];
    if (point === undefined) continue;
    const path = unescapeMountPath(point);
    if (path === base || path.startsWith(`${base}/`)) points.push(path);
  }
  return points;
}

export async function currentMountsBeneath(dir: string): Promise<string[]> {
  return mountsBeneath(await readFile("/proc/self/mountinfo", "utf8"), dir);
}

/** Unmounts everything at or beneath `dir`; throws `CleanupIncomplete` if something stays. */
export async function unmountBeneath(dir: string): Promise<void> {
  // A mount point can be stacked several times; repeat until nothing is left.
  for (let round = 0; round < 8; round++) {
    const points = await currentMountsBeneath(dir);
    if (points.length === 0) return;
    for (const p of points.reverse()) {
      const res = await runCommand(["umount", p]);
      if (res.code !== 0) await runCommand(["umount", "-l", p]);
    }
  }
  const left = await currentMountsBeneath(dir);
  if (left.length > 0)
    throw new LabError("CleanupIncomplete", `mounts remain under ${dir}: ${left.join(", ")}`);
}
