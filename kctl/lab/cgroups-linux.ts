/**
 * The lab's cgroup subtrees. Every mounted hierarchy the lab command belongs to (the v1 controllers,
 * the named v1 hierarchies and the v2 unified one) gets a `kctl-lab-<name>` directory beneath the
 * command's own cgroup, and each component a leaf below it. Agents create container cgroups beneath
 * their own, so a lab's whole process tree stays inside these subtrees, where `lab down` finds and
 * kills it even when pids were lost. It never creates anything at the root of a hierarchy it is not
 * itself in, and never touches a cgroup outside a lab subtree.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { CgroupHierarchy } from "../../node-agent/cgroups/hierarchies-linux.js";
import { LabError } from "./errors.js";

// A v1 cpuset cgroup takes no tasks until it has cpus and mems; inherit the parent's.
async function initCpuset(dir: string): Promise<void> {
  for (const file of ["cpuset.cpus", "cpuset.mems"]) {
    const path = join(dir, file);
    if (!existsSync(path)) continue;
    const current = (await readFile(path, "utf8")).trim();
    if (current !== "") continue;
    const parent = (await readFile(join(dir, "..", file), "utf8")).trim();
    await writeFile(path, parent);
  }
}

// On v2, delegate what the parent offers so that agents can set limits on their containers. A
// controller the parent cannot give is simply left out: the lab still works, without that limit.
async function delegateControllers(dir: string): Promise<void> {
  const available = (await readFile(join(dir, "cgroup.controllers"), "utf8")).split(/\s+/).filter(Boolean);
  for (const c of available) {
    await writeFile(join(dir, "cgroup.subtree_control"), `+${c}`).catch(() => undefined);
  }
}

/** Creates `dir` as a cgroup ready to take processes (idempotent). */
export async function makeCgroup(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await initCpuset(dir);
  } catch (err) {
    throw new LabError("CommandFailed", `mkdir cgroup ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

/** Creates the lab's subtree root in every hierarchy and returns the directories. */
export async function makeLabCgroups(
  hierarchies: readonly CgroupHierarchy[],
  name: string,
): Promise<string[]> {
  const dirs: string[] = [];
  for (const h of hierarchies) {
    const dir = join(h.ownDir, name);
    await makeCgroup(dir);
    if (h.version === 2) await delegateControllers(dir);
    dirs.push(dir);
  }
  return dirs;
}

/** Every cgroup directory at or below `dir`, deepest first; empty when `dir` does not exist. */
export async function cgroupTree(dir: string): Promise<string[]> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const below: string[] = [];
  for (const e of entries) if (e.isDirectory()) below.push(...(await cgroupTree(join(dir, e.name))));
  return [...below, dir];
}

/** The pids in `dir` and every cgroup below it. */
export async function pidsIn(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const d of await cgroupTree(dir)) {
    const text = await readFile(join(d, "cgroup.procs"), "utf8").catch(() => "");
    for (const p of text.split("\n")) if (p) pids.push(Number(p));
  }
  return pids;
}

/**
 * Kills every process in the subtrees `dirs` with SIGKILL and waits until they are empty. On v2 the
 * kernel's `cgroup.kill` does it atomically; on v1 forks can race a scan, so it rescans until empty.
 */
export async function killCgroupProcesses(dirs: readonly string[], timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let remaining = 0;
    for (const dir of dirs) {
      const killFile = join(dir, "cgroup.kill");
      if (existsSync(killFile)) await writeFile(killFile, "1").catch(() => undefined);
      for (const pid of await pidsIn(dir)) {
        remaining++;
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    if (remaining === 0) return;
    if (Date.now() > deadline) {
      throw new LabError("Timeout", `processes still in cgroups ${dirs.join(", ")} after SIGKILL`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Removes the cgroup `dir` and everything below it; the subtree must hold no processes. */
export async function removeCgroupTree(dir: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const d of await cgroupTree(dir)) {
    for (;;) {
      try {
        await rmdir(d);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT") break;
        // A killed task can linger a moment before the kernel lets the cgroup go.
        if (code === "EBUSY" && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        throw new LabError("CleanupIncomplete", `rmdir cgroup ${d}: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
  }
}
