/**
 * Where containers' cgroups go: beneath the cgroup this agent runs in (delegation), never at the
 * root of a hierarchy, as `<parent>/pod<uid>/<container>`. The runtimes create and remove the
 * container leaves; this module names the parent and removes a pod's directory once its containers
 * are deleted (the runtimes make it as an ancestor and leave it behind).
 *
 * On cgroup v1 a process may sit at a different path in each hierarchy; the parent is one absolute
 * path (the deepest own cgroup, which must contain the others) so every runtime resolves it the same.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { readdir, readFile, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { RuntimeError } from "./errors.js";

const ROOT = "/sys/fs/cgroup";

/** The cgroup paths of this process, one per hierarchy, from /proc/self/cgroup. */
export function ownCgroups(procSelfCgroup = readFileSync("/proc/self/cgroup", "utf8")): string[] {
  return procSelfCgroup
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split(":").slice(2).join(":"));
}

/**
 * The absolute cgroup path `<own>/<name>` to put pods under. Throws `Invalid` when the process's
 * cgroups in different hierarchies do not nest (no single path is beneath all of them).
 */
export function agentCgroupParent(name: string, procSelfCgroup?: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === "." || name === "..") {
    throw new RuntimeError("Invalid", `cgroupParent name: "${name}" must be one path component`);
  }
  const own = ownCgroups(procSelfCgroup);
  const deepest = own.reduce((a, b) => (b.length > a.length ? b : a), "/");
  for (const p of own) {
    const prefix = p === "/" ? "/" : `${p}/`;
    if (deepest !== p && !deepest.startsWith(prefix)) {
      throw new RuntimeError(
        "Invalid",
        `cgroupParent: this process's cgroups (${own.join(", ")}) do not nest; give cgroupParent explicitly`,
      );
    }
  }
  return `${deepest === "/" ? "" : deepest}/${name}`;
}

/** The cgroup of one container: `<parent>/pod<uid>/<container>`. */
export function containerCgroupPath(parent: string, podUID: string, container: string): string {
  return `${podCgroupPath(parent, podUID)}/${container}`;
}

export function podCgroupPath(parent: string, podUID: string): string {
  return `${parent}/pod${podUID}`;
}

function hierarchies(): string[] {
  if (existsSync(join(ROOT, "cgroup.controllers"))) return [ROOT];
  return readdirSync(ROOT)
    .map((d) => join(ROOT, d))
    .filter((d) => {
      try {
        return statSync(d).isDirectory();
      } catch {
        return false;
      }
    });
}

/**
 * Removes the cgroup directory `path` (absolute, as given to the runtime) and everything beneath it
 * in every hierarchy, deepest first. It never kills: a directory that still holds processes is an
 * error naming it (delete the containers through the runtime first). Idempotent.
 */
export async function removeCgroupTree(path: string): Promise<void> {
  for (const h of hierarchies()) await removeDir(join(h, path));
}

async function removeDir(dir: string): Promise<void> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  for (const e of entries) if (e.isDirectory()) await removeDir(join(dir, e.name));
  try {
    await rmdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return;
    const procs = await readFile(join(dir, "cgroup.procs"), "utf8").catch(() => "");
    throw new RuntimeError(
      "CommandFailed",
      `remove cgroup ${dir}: ${code}${procs.trim() ? ` (still holds pids ${procs.trim().split("\n").join(",")})` : ""}`,
      { cause: err },
    );
  }
}
