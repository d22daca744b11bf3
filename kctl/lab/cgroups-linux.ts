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
import { join, relative } from "node:path";
import { LabError } from "./errors.js";

export interface CgroupHierarchy {
  version: 1 | 2;
  /** `memory`, `cpu,cpuacct`, `name=systemd`; empty for v2. */
  controllers: string;
  /** Absolute directory of the cgroup the process runs in. */
  ownDir: string;
}

interface ProcCgroupLine {
  id: string;
  controllers: string;
  path: string;
}

interface CgroupMount {
  root: string;
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

export function parseProcCgroup(text: string): ProcCgroupLine[] {
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const first = line.indexOf(":");
      const second = line.indexOf(":", first + 1);
      return {
        id: line.slice(0, first),
        controllers: line.slice(first + 1, second),
        path: line.slice(second + 1),
      };
    });
}

/** Undoes the octal escapes (`\040` for a space) that mountinfo uses in paths. */
export function unescapeMountPath(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const fields = line.slice(0, sep).split(" ");
    const [fsType, , superOpts] = line.slice(sep + 3).split(" ");
    if (fsType !== "cgroup" && fsType !== "cgroup2") continue;
    mounts.push({
      root: unescapeMountPath(fields[3] ?? "/"),
      mountPoint: unescapeMountPath(fields[4] ?? ""),
      fsType,
      superOptions: (superOpts ?? "").split(","),
    });
  }
  return mounts;
}

/** Matches each line of /proc/self/cgroup with the mount that shows that hierarchy. */
export function resolveHierarchies(procCgroup: string, mountinfo: string): CgroupHierarchy[] {
  const mounts = parseCgroupMounts(mountinfo);
  const result: CgroupHierarchy[] = [];
  for (const line of parseProcCgroup(procCgroup)) {
    const isV2 = line.id === "0" && line.controllers === "";
    const mount = mounts.find((m) =>
      isV2
        ? m.fsType === "cgroup2"
        : m.fsType === "cgroup" && line.controllers.split(",").every((c) => m.superOptions.includes(c)),
    );
    if (!mount) continue;
    const rel = relative(mount.root, line.path);
    if (rel.startsWith("..")) continue;
    result.push({
      version: isV2 ? 2 : 1,
      controllers: line.controllers,
      ownDir: join(mount.mountPoint, rel),
    });
  }
  return result;
}

/** The hierarchies this process belongs to; throws when none is mounted. */
export async function ownHierarchies(): Promise<CgroupHierarchy[]> {
  const [procCgroup, mountinfo] = await Promise.all([
    readFile("/proc/self/cgroup", "utf8"),
    readFile("/proc/self/mountinfo", "utf8"),
  ]);
  const found = resolveHierarchies(procCgroup, mountinfo);
  if (found.length === 0)
    throw new LabError("NotFound", "no mounted cgroup hierarchy found for this process");
  return found;
}

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
