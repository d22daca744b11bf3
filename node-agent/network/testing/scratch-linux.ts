/**
 * Throwaway directories for root tests of the node agent: everything a test mounts (netns files,
 * overlays) lives beneath one, and {@link removeScratchDir} unmounts all of it (deepest first, lazily
 * if busy) before deleting, so a failed test leaves nothing behind.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseMountPoints } from "../../runtime/images/mountinfo-linux.js";

export function makeScratchDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}-`));
}

/** Mount points at or beneath `dir` in this process's mount namespace, deepest last. */
export function mountsBeneath(dir: string): string[] {
  return parseMountPoints(readFileSync("/proc/self/mountinfo", "utf8")).filter(
    (p) => p === dir || p.startsWith(`${dir}/`),
  );
}

/** Unmounts everything beneath `dir`, then deletes it. Never throws on a missing dir. */
export function removeScratchDir(dir: string): void {
  for (let round = 0; round < 8; round++) {
    const points = mountsBeneath(dir);
    if (points.length === 0) break;
    for (const p of points.reverse()) {
      try {
        execFileSync("umount", ["--lazy", p], { stdio: "ignore" });
      } catch {
        // Already gone with its parent; the next round re-reads mountinfo.
      }
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

/** A fresh network namespace bound at `path`, standing in for a node's host namespace in tests. */
export function makeNetns(path: string): string {
  writeFileSync(path, "");
  execFileSync("unshare", [`--net=${path}`, "true"]);
  return path;
}
