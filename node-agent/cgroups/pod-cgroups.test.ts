import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ownHierarchies } from "./hierarchies-linux.js";
import { PodCgroups } from "./pod-cgroups.js";

describe("PodCgroups placement (directories standing in for hierarchies)", () => {
  let root: string;
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("on v1 puts pods beneath the agent's cgroup of every hierarchy, by relative path", async () => {
    root = await mkdtemp(join(tmpdir(), "kctl-podcg-"));
    const hierarchies = ["memory", "pids"].map((c) => ({
      version: 1 as const,
      controllers: c,
      mountPoint: join(root, c),
      ownDir: join(root, c, "agents", "a"),
    }));
    const cgroups = await PodCgroups.place(hierarchies, "n1");
    expect(cgroups.containerPath("u1", "c1")).toBe("kctl-n1/podu1/c1");
    for (const h of hierarchies) await mkdir(join(h.ownDir, "kctl-n1", "podu1"), { recursive: true });
    await cgroups.removePod("u1");
    for (const h of hierarchies) expect(existsSync(join(h.ownDir, "kctl-n1", "podu1"))).toBe(false);
    await cgroups.removePod("u1");
  });

  it("on pure v2 moves the agent into a leaf and puts pods in a sibling, by absolute path", async () => {
    root = await mkdtemp(join(tmpdir(), "kctl-podcg-"));
    const own = join(root, "system.slice", "kctl-agent.service");
    await mkdir(own, { recursive: true });
    const h = { version: 2 as const, controllers: "", mountPoint: root, ownDir: own };
    const cgroups = await PodCgroups.place([h], "n1", 4242);
    expect(await readFile(join(own, "agent", "cgroup.procs"), "utf8")).toBe("4242");
    expect(cgroups.containerPath("u1", "c1")).toBe("/system.slice/kctl-agent.service/kctl-n1/podu1/c1");
    // A second placement from inside the leaf keeps the same parent.
    const again = await PodCgroups.place([{ ...h, ownDir: join(own, "agent") }], "n1", 4242);
    expect(again.parent).toBe(cgroups.parent);
  });

  it("says which pod cgroup it could not remove", async () => {
    root = await mkdtemp(join(tmpdir(), "kctl-podcg-"));
    const h = { version: 1 as const, controllers: "memory", mountPoint: root, ownDir: root };
    const cgroups = await PodCgroups.place([h], "n1");
    await mkdir(join(root, "kctl-n1", "podu1", "still-here"), { recursive: true });
    await expect(cgroups.removePod("u1")).rejects.toThrow(
      `remove pod cgroup ${join(root, "kctl-n1", "podu1")}`,
    );
  });
});

// The move itself, on this host's real v2 hierarchy (pure v2, or the unified mount of a hybrid host).
const unified = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"].find((d) => existsSync(join(d, "cgroup.procs")));
describe.skipIf(process.getuid?.() !== 0 || !unified)("PodCgroups on the real v2 hierarchy (root)", () => {
  it("moves a process and its children there into the leaf, and leaves other processes", async () => {
    const v2 = (await ownHierarchies()).find((h) => h.version === 2);
    if (!v2) return;
    const own = join(v2.ownDir, `kctl-podcg-${process.pid}`);
    await mkdir(own);
    // The shell stands for the agent, its background sleep for etcd; the lone sleep is a stranger.
    const agent = spawn("sh", ["-c", `echo $$ > ${own}/cgroup.procs; sleep 300 & wait`], { stdio: "ignore" });
    const stranger = spawn("sleep", ["300"], { stdio: "ignore" });
    const procs = async (dir: string) =>
      (await readFile(join(dir, "cgroup.procs"), "utf8")).split("\n").filter(Boolean).map(Number).sort();
    try {
      await new Promise((r) => stranger.once("spawn", r));
      await writeFile(join(own, "cgroup.procs"), String(stranger.pid));
      for (let i = 0; i < 100 && (await procs(own)).length < 3; i++)
        await new Promise((r) => setTimeout(r, 20));
      const cgroups = await PodCgroups.place([{ ...v2, ownDir: own }], "n1", agent.pid!);
      expect(await procs(own)).toEqual([stranger.pid]);
      expect(await procs(join(own, "agent"))).toHaveLength(2);
      expect(await procs(join(own, "agent"))).toContain(agent.pid);
      expect(cgroups.parent).toBe(`/${join(own, "kctl-n1").slice(v2.mountPoint.length + 1)}`);
    } finally {
      for (const pid of [
        ...(await procs(own).catch(() => [])),
        ...(await procs(join(own, "agent")).catch(() => [])),
      ])
        process.kill(pid, "SIGKILL");
      await Promise.all(
        [agent, stranger].map((c) =>
          c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once("exit", r)) : undefined,
        ),
      );
      for (let i = 0; i < 100 && existsSync(join(own, "agent")); i++) {
        await rmdir(join(own, "agent")).catch(() => new Promise((r) => setTimeout(r, 20)));
      }
      await rmdir(own);
    }
  });
});
