/**
 * The cgroup hierarchies a process belongs to, read from /proc/self/cgroup and mountinfo: each v1
 * controller hierarchy, named v1 hierarchies and the v2 unified one, with the directory of the
 * process's own cgroup in each. Shared by the agent (pod cgroups) and the lab (its subtrees).
 */
import { readFile } from "node:fs/promises";
import { join, relative } from "node:path";

export class CgroupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CgroupError";
  }
}

export interface CgroupHierarchy {
  version: 1 | 2;
  /** `memory`, `cpu,cpuacct`, `name=systemd`; empty for v2. */
  controllers: string;
  /** Where the hierarchy is mounted. */
  mountPoint: string;
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
      mountPoint: mount.mountPoint,
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
  if (found.length === 0) throw new CgroupError("no mounted cgroup hierarchy found for this process");
  return found;
}
