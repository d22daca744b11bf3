import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ownHierarchies } from "../../node-agent/cgroups/hierarchies-linux.js";
import {
  killCgroupProcesses,
  makeCgroup,
  makeLabCgroups,
  pidsIn,
  removeCgroupTree,
} from "./cgroups-linux.js";

describe("lab cgroups on this host (root)", () => {
  const name = `kctl-lab-unit-${process.pid}`;
  let roots: string[] = [];
  afterEach(async () => {
    await killCgroupProcesses(roots);
    for (const r of roots) await removeCgroupTree(r);
  });

  it("holds a process tree that is killed and removed as a whole", async () => {
    roots = await makeLabCgroups(await ownHierarchies(), name);
    const leaves = roots.map((r) => join(r, "component"));
    for (const l of leaves) await makeCgroup(l);
    // The shell forks a background child the test never learns the pid of.
    const child = spawn(
      "/bin/sh",
      [
        "-c",
        'for f; do echo $$ > "$f"; done; sleep 300 & wait',
        "sh",
        ...leaves.map((l) => join(l, "cgroup.procs")),
      ],
      {
        stdio: "ignore",
      },
    );
    await new Promise((r) => setTimeout(r, 300));
    for (const r of roots) expect((await pidsIn(r)).length, r).toBe(2);
    expect(await readFile(`/proc/${child.pid}/cgroup`, "utf8")).toContain(`/${name}/component`);
    await killCgroupProcesses(roots);
    for (const r of roots) expect(await pidsIn(r)).toEqual([]);
    for (const r of roots) await removeCgroupTree(r);
    for (const r of roots) expect(existsSync(r)).toBe(false);
  });

  it("refuses to remove a cgroup that still holds a process, naming it", async () => {
    roots = await makeLabCgroups(await ownHierarchies(), name);
    const child = spawn("sleep", ["300"], { stdio: "ignore" });
    await new Promise((r) => child.once("spawn", r));
    await writeFile(join(roots[0]!, "cgroup.procs"), String(child.pid));
    await expect(removeCgroupTree(roots[0]!, 200)).rejects.toThrow(`rmdir cgroup ${roots[0]}`);
  });
});
