/**
 * Where this node's pods live in the cgroup tree, and their removal. Container cgroups are made by
 * the runtime from the path given here; a pod's own directory (`pod<uid>`, made on the way) is
 * removed by the agent once its containers are gone, as the kubelet does.
 *
 * Placement: beneath the agent's own cgroup, so a node never reaches outside what it was given.
 * On a pure cgroup v2 host the kernel refuses to enable controllers in a cgroup that holds
 * processes, so the agent first moves itself into a leaf (`<own>/agent`) and its pods go into the
 * sibling `<own>/kctl-<node>` by absolute path. On v1 and hybrid hosts pods go into
 * `kctl-<node>` beneath the agent's cgroup of every hierarchy, by relative path.
 *
 * Each pod's directory gets a pids limit (the kubelet's `podPidsLimit`) before its first container
 * starts, so one pod's fork bomb stops at the limit and the node keeps forking.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { CgroupError, type CgroupHierarchy } from "./hierarchies-linux.js";

const AGENT_LEAF = "agent";

/**
 * The pids limit of a pod when the node sets none. The kubelet's default is unlimited (-1), which
 * leaves every pod able to exhaust the node's pids; 4096 is many times what busy pods run (a JVM
 * with a large thread pool stays in the hundreds) and a small share of the kernel's pid_max, so
 * one pod cannot starve the others or the node's own daemons.
 */
export const DEFAULT_POD_PIDS_LIMIT = 4096;

/** -1 (unlimited) or a positive count; anything else is refused naming `field`. */
export function checkPodPidsLimit(value: number, field: string): number {
  if (value === -1 || (Number.isSafeInteger(value) && value > 0)) return value;
  throw new CgroupError(`${field}: ${value} must be a positive whole number, or -1 for no limit`);
}

/** A directory of the pods' parent cgroup, in the hierarchy that accounts one resource. */
export interface UsageDir {
  dir: string;
  version: 1 | 2;
}

export interface PodUsageDirs {
  cpu: UsageDir;
  memory: UsageDir;
}

export interface PlaceOptions {
  /** The process to move into the agent's leaf on pure v2 (the agent itself by default). */
  pid?: number;
  /** Most processes and threads per pod; -1 for no limit. Default {@link DEFAULT_POD_PIDS_LIMIT}. */
  podPidsLimit?: number;
}

/** Where the agent records its pods' cgroup directories (`{ "dirs": [...] }`) for `kctl reset`. */
export const podCgroupsFile = (stateDir: string) => join(stateDir, "pod-cgroups.json");

/**
 * `pid` and those of its descendants that sit in cgroup `dir` (with `kctl up`, etcd runs beside the
 * agent and would otherwise keep `dir` from enabling controllers). Other processes stay put.
 */
async function familyIn(dir: string, pid: number): Promise<number[]> {
  const text = await readFile(join(dir, "cgroup.procs"), "utf8").catch(() => "");
  const inDir = text.split("\n").filter(Boolean).map(Number);
  const parentOf = async (p: number): Promise<number> => {
    const stat = await readFile(`/proc/${p}/stat`, "utf8").catch(() => "");
    // Field 4, after the parenthesised command (which may itself hold spaces or parentheses).
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1] ?? 0);
  };
  const family = [pid];
  for (const p of inDir) {
    if (p === pid) continue;
    for (let q = await parentOf(p), hops = 0; q > 1 && hops < 64; q = await parentOf(q), hops++) {
      if (q === pid) {
        family.push(p);
        break;
      }
    }
  }
  return family;
}

/** Enables `controller` for the children of v2 cgroup `dir`, which must offer it. */
function enableController(dir: string, controller: string): void {
  const has = (file: string) => readFileSync(join(dir, file), "utf8").split(/\s+/).includes(controller);
  if (has("cgroup.subtree_control")) return;
  if (!has("cgroup.controllers")) {
    throw new CgroupError(
      `cgroup ${dir} does not offer the ${controller} controller (its parent must delegate it)`,
    );
  }
  writeFileSync(join(dir, "cgroup.subtree_control"), `+${controller}`);
}

export class PodCgroups {
  private constructor(
    /** The runtime's cgroupsPath prefix: relative (beneath the caller's cgroup) or absolute. */
    readonly parent: string,
    /** The directory of `parent` in every hierarchy. */
    readonly dirs: readonly string[],
    /** Where pods' pids limits go: `parent` in the v1 pids hierarchy, or in the v2 hierarchy. */
    private readonly pids: { dir: string; version: 1 | 2 } | undefined,
    readonly podPidsLimit: number,
    /** Where the usage of `parent` is read: the hierarchies holding cpu(acct) and memory. */
    readonly usage: PodUsageDirs,
  ) {}

  /**
   * Places the pods of `nodeName` for an agent whose cgroups are `hierarchies` (this process's).
   * On pure v2 this moves the process `pid` into the leaf first.
   */
  static async place(
    hierarchies: readonly CgroupHierarchy[],
    nodeName: string,
    options: PlaceOptions = {},
  ): Promise<PodCgroups> {
    const pid = options.pid ?? process.pid;
    const limit = checkPodPidsLimit(options.podPidsLimit ?? DEFAULT_POD_PIDS_LIMIT, "podPidsLimit");
    const name = `kctl-${nodeName}`;
    const v2 = hierarchies.length > 0 && hierarchies.every((h) => h.version === 2);
    if (v2 && hierarchies[0]!.ownDir !== hierarchies[0]!.mountPoint) {
      const h = hierarchies[0]!;
      // Already in the leaf (a second agent in the same process, as in tests): the parent is above.
      const own = h.ownDir.endsWith(`/${AGENT_LEAF}`) ? join(h.ownDir, "..") : h.ownDir;
      const leaf = join(own, AGENT_LEAF);
      try {
        await mkdir(leaf, { recursive: true });
        for (const p of await familyIn(own, pid)) await writeFile(join(leaf, "cgroup.procs"), String(p));
      } catch (err) {
        throw new CgroupError(`move the agent into its leaf cgroup ${leaf}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      const dir = join(own, name);
      const usage = { cpu: { dir, version: 2 as const }, memory: { dir, version: 2 as const } };
      return new PodCgroups(`/${relative(h.mountPoint, dir)}`, [dir], { dir, version: 2 }, limit, usage);
    }
    // On a hybrid host the pids controller is a v1 hierarchy; the unified one has none to offer.
    const v1 = (controller: string) =>
      hierarchies.find((h) => h.version === 1 && h.controllers.split(",").includes(controller));
    const pids = v1("pids");
    // A controller with no v1 hierarchy of its own is read from the unified one (hybrid hosts).
    const usageDir = (controller: string) => {
      const h = v1(controller) ?? hierarchies.find((x) => x.version === 2) ?? hierarchies[0]!;
      return { dir: join(h.ownDir, name), version: h.version };
    };
    return new PodCgroups(
      name,
      hierarchies.map((h) => join(h.ownDir, name)),
      pids ? { dir: join(pids.ownDir, name), version: 1 } : undefined,
      limit,
      { cpu: usageDir("cpuacct"), memory: usageDir("memory") },
    );
  }

  /**
   * The runtime's cgroupsPath for container `id` of pod `podUID`. Makes the pod's cgroup first if
   * it is missing and (re)writes its pids limit, so the limit holds before the container's first
   * process exists. Synchronous because it is called while the container's config is built; it
   * touches a few cgroupfs files only. Throws `CgroupError` naming the file it could not write,
   * and when a limit is set but no hierarchy offers the pids controller.
   */
  containerPath(podUID: string, id: string): string {
    this.limitPod(podUID);
    return `${this.parent}/pod${podUID}/${id}`;
  }

  private limitPod(podUID: string): void {
    if (this.podPidsLimit === -1) return;
    if (this.pids === undefined) {
      throw new CgroupError(
        `podPidsLimit ${this.podPidsLimit}: no cgroup hierarchy of this agent has the pids controller`,
      );
    }
    const { dir, version } = this.pids;
    const pod = join(dir, `pod${podUID}`);
    try {
      if (version === 2) {
        // The kernel shows pids.max in the pod only once both its parents delegate the controller.
        mkdirSync(dir, { recursive: true });
        for (const d of [join(dir, ".."), dir]) enableController(d, "pids");
      }
      mkdirSync(pod, { recursive: true });
      writeFileSync(join(pod, "pids.max"), String(this.podPidsLimit));
    } catch (err) {
      if (err instanceof CgroupError) throw err;
      throw new CgroupError(`set the pids limit of pod cgroup ${pod}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** Removes the pod's directory in every hierarchy; its containers' cgroups must be gone. */
  async removePod(podUID: string): Promise<void> {
    for (const dir of this.dirs) {
      try {
        await rmdir(join(dir, `pod${podUID}`));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT")
          throw new CgroupError(`remove pod cgroup ${join(dir, `pod${podUID}`)}: ${(err as Error).message}`, {
            cause: err,
          });
      }
    }
  }
}
