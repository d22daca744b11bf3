import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LabProcess } from "./lab-state.js";
import { isRunning, type StartedComponent, startComponent, stopProcesses } from "./processes.js";
import { mustRun } from "./run-command.js";
import { deleteNamespace } from "./topology-linux.js";

const ns = `kctl-unit-proc-${process.pid}`;
let dir: string;
const started: LabProcess[] = [];

async function start(name: string, argv: string[], cgroups: string[] = []): Promise<StartedComponent> {
  const s = await startComponent({
    name,
    spec: { argv },
    namespace: ns,
    stateDir: dir,
    logFile: join(dir, `${name}.log`),
    cgroups,
  });
  started.push(s.record);
  return s;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kctl-lab-proc-"));
  await mustRun(["ip", "netns", "add", ns]);
});

afterAll(async () => {
  await stopProcesses(started, 1_000);
  await deleteNamespace(ns);
  await rm(dir, { recursive: true, force: true });
});

describe("startComponent / stopProcesses (root)", () => {
  it("runs the command itself under the recorded pid, in the namespace, logging to its file", async () => {
    const s = await start("echoer", ["sh", "-c", "echo started; ip -br link; exec sleep 300"]);
    await new Promise((r) => setTimeout(r, 300));
    expect(await isRunning(s.record)).toBe(true);
    expect((await mustRun(["ip", "netns", "identify", String(s.record.pid)])).trim()).toBe(ns);
    expect(await readFile(`/proc/${s.record.pid}/comm`, "utf8")).toBe("sleep\n");
    const log = await readFile(s.record.logFile, "utf8");
    expect(log).toContain("started");
    // Only loopback exists in a fresh namespace: the process is not in the root namespace.
    expect(log).toMatch(/^lo\s/m);
    await stopProcesses([s.record], 1_000);
    expect(await isRunning(s.record)).toBe(false);
    expect(await s.exited).toBe("was killed by SIGTERM");
  });

  it("kills with SIGKILL what ignores SIGTERM, after the grace period", async () => {
    const s = await start("stubborn", ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"]);
    await new Promise((r) => setTimeout(r, 200));
    await stopProcesses([s.record], 300);
    expect(await s.exited).toBe("was killed by SIGKILL");
  });

  it("leaves alone a pid whose start time is not the recorded one", async () => {
    const s = await start("other", ["sleep", "300"]);
    await stopProcesses([{ ...s.record, startTime: "1" }], 100);
    expect(await isRunning(s.record)).toBe(true);
  });

  it("reports a component that cannot join its cgroup", async () => {
    // It fails so fast that startComponent may see it either while starting or just after.
    const outcome = await start("lost", ["sleep", "300"], [join(dir, "no-such-cgroup")]).then(
      (s) => s.exited,
      (err: Error) => err.message,
    );
    expect(outcome).toContain("could not join its cgroups");
  });
});
