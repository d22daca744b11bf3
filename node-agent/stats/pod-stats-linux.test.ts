/**
 * Root test: a busy process in a container cgroup laid out as the runtime lays it out beneath the
 * agent's pod parent (placed with PodCgroups, on this host's real hierarchies) is sampled: its CPU
 * time grows between two samples and its working set is above zero. Everything made here is
 * removed even when the test fails.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Pod } from "../../proto/gen/api.js";
import { ownHierarchies } from "../cgroups/hierarchies-linux.js";
import { PodCgroups } from "../cgroups/pod-cgroups.js";
import { samplePods } from "./pod-stats.js";

const isRoot = process.getuid?.() === 0;
const uid = "5f1c0b7e-2d4a-4c8e-9b1f-7a6e3d2c1b00";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!isRoot)("pod usage sampled from real cgroups (root)", () => {
  const made: string[] = [];
  let busy: ChildProcess | undefined;

  afterAll(async () => {
    busy?.kill("SIGKILL");
    await sleep(100);
    for (const dir of made.reverse()) {
      try {
        rmdirSync(dir);
      } catch {
        // already gone, or the kernel still holds it for a moment
      }
    }
  });

  it("reports a busy container's CPU time growing and its working set", async () => {
    const hierarchies = await ownHierarchies();
    const v2 = hierarchies.every((h) => h.version === 2);
    // On a pure v2 host place() would move this test process into a leaf; the test does not.
    if (v2) return;
    const cgroups = await PodCgroups.place(hierarchies, `stats-test-${process.pid}`, { podPidsLimit: -1 });
    const container = `${uid}_web_0`;
    const dirs = new Set([cgroups.usage.cpu.dir, cgroups.usage.memory.dir]);
    for (const parent of dirs) {
      for (const d of [parent, join(parent, `pod${uid}`), join(parent, `pod${uid}`, container)]) {
        mkdirSync(d, { recursive: true });
        made.push(d);
      }
    }
    // Memory is charged where it is allocated (v1 does not move charges with a process), so the
    // loop allocates its 2 MB only once it has been moved.
    const script = `sleep 0.2; x=$(head -c 2000000 /dev/zero | tr '\\0' a); while :; do :; done`;
    busy = spawn("sh", ["-c", script], { stdio: "ignore" });
    for (const parent of dirs)
      writeFileSync(join(parent, `pod${uid}`, container, "cgroup.procs"), String(busy.pid));
    const pod: Pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { namespace: "default", name: "web", uid },
      spec: { containers: [{ name: "web", image: "busybox" }] },
      status: { phase: "Running" },
    };
    await sleep(300);
    const [first] = await samplePods([pod], cgroups.usage, Date.now);
    await sleep(500);
    const [second] = await samplePods([pod], cgroups.usage, Date.now);
    const a = first?.containers[0]?.usage;
    const b = second?.containers[0]?.usage;
    expect(a && b).toBeTruthy();
    const cpuMs = (b!.cpuUsageMicroseconds - a!.cpuUsageMicroseconds) / 1000;
    const wallMs = b!.timestampMs - a!.timestampMs;
    // A busy loop on a loaded shared machine may get only a sliver of a core, never more than one.
    expect(cpuMs).toBeGreaterThan(0);
    expect(cpuMs).toBeLessThan(wallMs * 1.5);
    expect(b!.memoryWorkingSetBytes).toBeGreaterThan(0);
    busy.kill("SIGKILL");
    busy = undefined;
    await sleep(100);
  });
});
