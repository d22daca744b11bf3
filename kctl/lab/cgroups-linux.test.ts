import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  killCgroupProcesses,
  makeCgroup,
  makeLabCgroups,
  ownHierarchies,
  pidsIn,
  removeCgroupTree,
  resolveHierarchies,
} from "./cgroups-linux.js";

const hybridMountinfo = [
  "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
  "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct",
  "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
  "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd",
  "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
].join("\n");

describe("resolveHierarchies", () => {
  it("maps each /proc/self/cgroup line of a hybrid host to its mounted directory", () => {
    const proc = ["12:hugetlb:/", "4:memory:/jobs/x", "2:cpu,cpuacct:/", "1:name=systemd:/a b", "0::/"].join(
      "\n",
    );
    expect(resolveHierarchies(proc, hybridMountinfo)).toEqual([
      { version: 1, controllers: "memory", ownDir: "/sys/fs/cgroup/memory/jobs/x" },
      { version: 1, controllers: "cpu,cpuacct", ownDir: "/sys/fs/cgroup/cpu,cpuacct" },
      { version: 1, controllers: "name=systemd", ownDir: "/sys/fs/cgroup/systemd/a b" },
      { version: 2, controllers: "", ownDir: "/sys/fs/cgroup/unified" },
    ]);
  });

  it("handles a pure v2 host and a cgroup namespace whose mount root is not /", () => {
    const mi = "30 23 0:27 /user.slice /sys/fs/cgroup rw - cgroup2 cgroup2 rw";
    expect(resolveHierarchies("0::/user.slice/session-1.scope\n", mi)).toEqual([
      { version: 2, controllers: "", ownDir: "/sys/fs/cgroup/session-1.scope" },
    ]);
    expect(resolveHierarchies("0::/elsewhere\n", mi)).toEqual([]);
  });
});

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
