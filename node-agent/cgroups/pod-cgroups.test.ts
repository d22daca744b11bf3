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
    const cgroups = await PodCgroups.place(hierarchies, "n1", { podPidsLimit: -1 });
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
    const cgroups = await PodCgroups.place([h], "n1", { pid: 4242, podPidsLimit: -1 });
    expect(await readFile(join(own, "agent", "cgroup.procs"), "utf8")).toBe("4242");
    expect(cgroups.containerPath("u1", "c1")).toBe("/system.slice/kctl-agent.service/kctl-n1/podu1/c1");
    // A second placement from inside the leaf keeps the same parent.
    const again = await PodCgroups.place([{ ...h, ownDir: join(own, "agent") }], "n1", { pid: 4242 });
    expect(again.parent).toBe(cgroups.parent);
  });

  it("writes the pod's pids limit before its first container, in the v1 pids hierarchy only", async () => {
    root = await mkdtemp(join(tmpdir(), "kctl-podcg-"));
    const hierarchies = ["memory", "pids", ""].map((c) => ({
      version: (c === "" ? 2 : 1) as 1 | 2,
      controllers: c,
      mountPoint: join(root, c || "unified"),
      ownDir: join(root, c || "unified"),
    }));
    const cgroups = await PodCgroups.place(hierarchies, "n1", { podPidsLimit: 100 });
    cgroups.containerPath("u1", "c1");
    expect(await readFile(join(root, "pids", "kctl-n1", "podu1", "pids.max"), "utf8")).toBe("100");
    expect(existsSync(join(root, "memory", "kctl-n1", "podu1"))).toBe(false);
    expect(existsSync(join(root, "unified", "kctl-n1", "podu1"))).toBe(false);
    const defaulted = await PodCgroups.place(hierarchies, "n2");
    defaulted.containerPath("u2", "c1");
    expect(await readFile(join(root, "pids", "kctl-n2", "podu2", "pids.max"), "utf8")).toBe("4096");
  });

  it("on v2 delegates the pids controller down to the pod, and says when it is not offered", async () => {
    root = await mkdtemp(join(tmpdir(), "kctl-podcg-"));
    const own = join(root, "svc");
    await mkdir(own, { recursive: true });
    await writeFile(join(own, "cgroup.controllers"), "cpu memory pids\n");
    await writeFile(join(own, "cgroup.subtree_control"), "");
    const h = { version: 2 as const, controllers: "", mountPoint: root, ownDir: own };
    const cgroups = await PodCgroups.place([h], "n1", { pid: 4242, podPidsLimit: 50 });
    await mkdir(join(own, "kctl-n1"));
    await writeFile(join(own, "kctl-n1", "cgroup.controllers"), "pids\n");
    await writeFile(join(own, "kctl-n1", "cgroup.subtree_control"), "");
    cgroups.containerPath("u1", "c1");
    expect(await readFile(join(own, "cgroup.subtree_control"), "utf8")).toBe("+pids");
    expect(await readFile(join(own, "kctl-n1", "cgroup.subtree_control"), "utf8")).toBe("+pids");
    expect(await readFile(join(own, "kctl-n1", "podu1", "pids.max"), "utf8")).toBe("50");

    await writeFile(join(own, "kctl-n1", "cgroup.subtree_control"), "");
    await writeFile(join(own, "kctl-n1", "cgroup.controllers"), "memory\n");
    expect(() => cgroups.containerPath("u2", "c1")).toThrow(
      `cgroup ${join(own, "kctl-n1")} does not offer the pids controller`,
    );
  });

  it("refuses a pids limit that is neither positive nor -1, and a limit no hierarchy can hold", async () => {
    root = await mkdtemp(join(tmpdir(), "kctl-podcg-"));
    const h = { version: 1 as const, controllers: "memory", mountPoint: root, ownDir: root };
    for (const bad of [0, -2, 1.5, Number.NaN]) {
      await expect(PodCgroups.place([h], "n1", { podPidsLimit: bad })).rejects.toThrow(
        `podPidsLimit: ${bad} must be a positive whole number, or -1 for no limit`,
      );
    }
    const cgroups = await PodCgroups.place([h], "n1", { podPidsLimit: 10 });
    expect(() => cgroups.containerPath("u1", "c1")).toThrow(
      /no cgroup hierarchy of this agent has the pids controller/,
    );
    const unlimited = await PodCgroups.place([h], "n1", { podPidsLimit: -1 });
    expect(unlimited.containerPath("u1", "c1")).toBe("kctl-n1/podu1/c1");
  });

  it("says which pod cgroup it could not remove", async () => {
    root = await mkdtemp(join(tmpdir(), "kctl-podcg-"));
    const h = { version: 1 as const, controllers: "memory", mountPoint: root, ownDir: root };
    const cgroups = await PodCgroups.place([h], "n1", { podPidsLimit: -1 });
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
      const cgroups = await PodCgroups.place([{ ...v2, ownDir: own }], "n1", { pid: agent.pid! });
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
