/**
 * `kctl reset` on a lab host whose agent ran a pod and was then stopped (its containers keep
 * running, as after `systemctl stop kctl-agent`): afterwards the host holds no container process,
 * pod cgroup, pod namespace, bridge, nftables table, mount or state of the agent.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pidsIn } from "../kctl/lab/cgroups-linux.js";
import { currentMountsBeneath } from "../kctl/lab/mounts-linux.js";
import { stopProcesses } from "../kctl/lab/processes.js";
import { runCommand } from "../kctl/lab/run-command.js";
import { podCgroupsFile } from "../node-agent/cgroups/pod-cgroups.js";
import { kctlMain } from "./support/kctl-process.js";
import { downLab, eventually, isRoot, type LabCluster, startLabCluster } from "./support/lab-cluster.js";

describe.skipIf(!isRoot)("kctl reset on a host whose agent is stopped", { timeout: 120_000 }, () => {
  let lab: LabCluster;
  const onNode1 = (...argv: string[]) => lab.onNode("node1", ...argv);
  // nsenter, not `ip netns exec`: that remounts /sys, which hides the cgroup hierarchies.
  const inNode1 = (...argv: string[]) =>
    runCommand(["nsenter", `--net=/run/netns/${lab.state.nodes[0]!.namespace}`, ...argv]);
  const agent = () => lab.state.processes.find((p) => p.name === "node1")!;

  beforeAll(async () => {
    lab = await startLabCluster("rs", 1);
  });
  afterAll(downLab(() => lab));

  it("refuses while the agent runs, then removes everything the agent made", async () => {
    const applied = await lab.apply(`apiVersion: v1
kind: Pod
metadata: {name: sleeper, namespace: default}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: "kctl.local/busybox:debian", command: ["sleep", "3600"]}]
`);
    expect(applied.code).toBe(0);
    await eventually("sleeper running", async () => {
      const res = await lab.kctl("get", "pod", "sleeper", "-o", "json");
      return (
        (JSON.parse(res.stdout) as { status?: { phase?: string } }).status?.phase === "Running" || undefined
      );
    });
    const { stateDir } = agent();
    const reset = (...flags: string[]) =>
      inNode1(process.execPath, kctlMain, "reset", "--state-dir", stateDir, ...flags);

    const unforced = await reset();
    expect(unforced.code).not.toBe(0);
    expect(unforced.stderr).toContain("add --force");
    const busy = await reset("--force");
    expect(busy.code).not.toBe(0);
    expect(busy.stderr).toContain(
      `another node agent (pid ${agent().pid}) is running with state dir ${stateDir}`,
    );

    const { dirs } = JSON.parse(await readFile(podCgroupsFile(stateDir), "utf8")) as { dirs: string[] };
    const containerPids = (await Promise.all(dirs.map(pidsIn))).flat();
    expect(containerPids.length).toBeGreaterThan(0);
    await stopProcesses([agent()], 5_000);
    expect(containerPids.every((p) => existsSync(`/proc/${p}`))).toBe(true);

    const res = await reset("--force");
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^container \S+ removed$/m);
    expect(res.stdout).toMatch(/^pod network of \S+ removed$/m);
    expect(res.stdout).toContain("bridge kctl0 removed\nnftables table ip kctl removed\n");
    expect(res.stdout.trimEnd().split("\n").at(-1)).toBe(`${stateDir} removed`);

    expect(containerPids.filter((p) => existsSync(`/proc/${p}`))).toEqual([]);
    expect(dirs.filter((d) => existsSync(d))).toEqual([]);
    expect(existsSync(stateDir)).toBe(false);
    expect(await currentMountsBeneath(stateDir)).toEqual([]);
    expect((await onNode1("nft", "list", "table", "ip", "kctl")).code).not.toBe(0);
    expect((await onNode1("ip", "link", "show", "kctl0")).code).not.toBe(0);

    const again = await reset("--force");
    expect(again.code).toBe(0);
  });
});
