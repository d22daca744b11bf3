import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { currentMountsBeneath, mountsBeneath, unmountBeneath } from "./mounts-linux.js";
import { mustRun } from "./run-command.js";

const mountinfo = [
  "22 1 0:21 / / rw - ext4 /dev/root rw",
  "30 22 0:40 / /var/lib/labs/a rw - tmpfs t rw",
  "31 30 0:41 / /var/lib/labs/a/state/node1/rootfs rw - overlay o rw",
  "32 22 0:42 / /var/lib/labs/ab rw - tmpfs t rw",
  "33 30 0:4 net:[4026532] /var/lib/labs/a/pod\\040netns rw - nsfs nsfs rw",
].join("\n");

describe("mountsBeneath", () => {
  it("lists mounts at or under a dir, parents first, and not its siblings", () => {
    expect(mountsBeneath(mountinfo, "/var/lib/labs/a/")).toEqual([
      "/var/lib/labs/a",
      "/var/lib/labs/a/state/node1/rootfs",
      "/var/lib/labs/a/pod netns",
    ]);
  });
});

describe("unmountBeneath (root)", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) {
      await unmountBeneath(dir);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("undoes stacked and nested mounts, children first", async () => {
    dir = await mkdtemp(join(tmpdir(), "kctl-lab-mounts-"));
    const outer = join(dir, "outer");
    await mkdir(outer);
    await mustRun(["mount", "-t", "tmpfs", "kctl-test", outer]);
    await mkdir(join(outer, "inner"));
    await mustRun(["mount", "-t", "tmpfs", "kctl-test", join(outer, "inner")]);
    await mustRun(["mount", "-t", "tmpfs", "kctl-test", join(outer, "inner")]);
    expect(await currentMountsBeneath(dir)).toHaveLength(3);
    await unmountBeneath(dir);
    expect(await currentMountsBeneath(dir)).toEqual([]);
  });
});
