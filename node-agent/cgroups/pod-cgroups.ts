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
 */
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { CgroupError, type CgroupHierarchy } from "./hierarchies-linux.js";

const AGENT_LEAF = "agent";

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

export class PodCgroups {
  private constructor(
    /** The runtime's cgroupsPath prefix: relative (beneath the caller's cgroup) or absolute. */
    readonly parent: string,
    /** The directory of `parent` in every hierarchy. */
    readonly dirs: readonly string[],
  ) {}

  /**
   * Places the pods of `nodeName` for an agent whose cgroups are `hierarchies` (this process's).
   * On pure v2 this moves the process `pid` into the leaf first.
   */
  static async place(
    hierarchies: readonly CgroupHierarchy[],
    nodeName: string,
    pid = process.pid,
  ): Promise<PodCgroups> {
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
      return new PodCgroups(`/${relative(h.mountPoint, dir)}`, [dir]);
    }
    return new PodCgroups(
      name,
      hierarchies.map((h) => join(h.ownDir, name)),
    );
  }

  /** The runtime's cgroupsPath for container `id` of pod `podUID`. */
  containerPath(podUID: string, id: string): string {
    return `${this.parent}/pod${podUID}/${id}`;
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
