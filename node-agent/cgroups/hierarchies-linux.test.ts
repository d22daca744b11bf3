import { describe, expect, it } from "vitest";
import { resolveHierarchies } from "./hierarchies-linux.js";

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
      {
        version: 1,
        controllers: "memory",
        mountPoint: "/sys/fs/cgroup/memory",
        ownDir: "/sys/fs/cgroup/memory/jobs/x",
      },
      {
        version: 1,
        controllers: "cpu,cpuacct",
        mountPoint: "/sys/fs/cgroup/cpu,cpuacct",
        ownDir: "/sys/fs/cgroup/cpu,cpuacct",
      },
      {
        version: 1,
        controllers: "name=systemd",
        mountPoint: "/sys/fs/cgroup/systemd",
        ownDir: "/sys/fs/cgroup/systemd/a b",
      },
      { version: 2, controllers: "", mountPoint: "/sys/fs/cgroup/unified", ownDir: "/sys/fs/cgroup/unified" },
    ]);
  });

  it("handles a pure v2 host and a cgroup namespace whose mount root is not /", () => {
    const mi = "30 23 0:27 /user.slice /sys/fs/cgroup rw - cgroup2 cgroup2 rw";
    expect(resolveHierarchies("0::/user.slice/session-1.scope\n", mi)).toEqual([
      { version: 2, controllers: "", mountPoint: "/sys/fs/cgroup", ownDir: "/sys/fs/cgroup/session-1.scope" },
    ]);
    expect(resolveHierarchies("0::/elsewhere\n", mi)).toEqual([]);
  });
});
