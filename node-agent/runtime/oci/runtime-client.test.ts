/**
 * The runtime client against the real kshim (root): a create that died half-way must not wedge the
 * container id, because the pod worker retries a failed start with the same id; the state it reads
 * in-process is the one `kshim state` prints, at every step of a container's life; a start and stop
 * forks the test process (the agent) for nothing once its command runner runs.
 */
import { ChildProcess, execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeBundle } from "../../../native/testing/oci-bundle.js";
import { SHIM } from "../../../native/testing/oci-runtimes.js";
import { type TestCgroupParent, testCgroupParent } from "../../../native/testing/test-cgroups.js";
import { nativeBuildPath } from "../../util/native-build.js";
import { buildBusyboxRootfs } from "../images/busybox-rootfs.js";
import { RuntimeClient, RuntimeError } from "./runtime-client.js";

const canRun = process.getuid?.() === 0 && existsSync(SHIM);

describe.skipIf(!canRun)("RuntimeClient with kshim", () => {
  let dir: string;
  let cgroups: TestCgroupParent;
  let runtime: RuntimeClient;
  let bundle: string;
  const id = "rc-test-0";

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kctl-runtime-client-"));
    const rootfs = join(dir, "rootfs");
    await buildBusyboxRootfs(rootfs);
    cgroups = testCgroupParent(`kctl-rc-${process.pid}`);
    runtime = new RuntimeClient(SHIM, join(dir, "state"));
    bundle = await writeBundle(join(dir, "bundle"), {
      rootfs,
      args: ["sleep", "1000"],
      cgroupsPath: `${cgroups.path}/${id}`,
    });
  });

  afterAll(async () => {
    await runtime?.delete(id, true).catch(() => undefined);
    cgroups?.remove();
    await rm(dir, { recursive: true, force: true });
  });

  it("clears what a create killed half-way left, so the next start with the same id works", async () => {
    // What a create killed before writing its state leaves behind: the bare state dir.
    await mkdir(join(dir, "state", id), { recursive: true });
    await expect(runtime.createAndStart(id, bundle)).rejects.toThrow(/already exists/);
    expect(existsSync(join(dir, "state", id))).toBe(false);

    await mkdir(join(dir, "state", "rc-bare"), { recursive: true });
    await runtime.delete("rc-bare", true);
    expect(existsSync(join(dir, "state", "rc-bare"))).toBe(false);

    await runtime.createAndStart(id, bundle);
    expect((await runtime.state(id))?.status).toBe("running");
    await runtime.delete(id, true);
    expect(await runtime.state(id)).toBeUndefined();
  });

  it("starts and stops a container without spawning a process from the agent", async () => {
    // Every spawn of this process goes through ChildProcess#spawn (spawn, execFile, exec alike),
    // which Node's types do not declare.
    const proto = ChildProcess.prototype as unknown as { spawn(...args: unknown[]): unknown };
    const original = proto.spawn;
    let spawns = 0;
    proto.spawn = function (this: unknown, ...args: unknown[]) {
      spawns++;
      return original.apply(this, args);
    };
    try {
      await runtime.delete(id, true); // the helper's first start
      spawns = 0;
      // The pod worker's start and stop (container-attempts.ts): run, SIGTERM, SIGKILL at the end
      // of the grace period (pid 1 ignores SIGTERM), delete.
      await runtime.createAndStart(id, bundle);
      await runtime.kill(id, "TERM");
      expect((await runtime.state(id))?.status).toBe("running");
      await runtime.kill(id, "KILL");
      for (let i = 0; i < 100 && (await runtime.state(id))?.status !== "stopped"; i++)
        await new Promise((r) => setTimeout(r, 20));
      await runtime.delete(id, true);
      expect(await runtime.state(id)).toBeUndefined();
      expect(spawns).toBe(0);
    } finally {
      proto.spawn = original;
    }
  });

  it("keeps kshim's errors and what counts as gone", async () => {
    await expect(runtime.kill("rc-missing", "TERM")).resolves.toBeUndefined();
    await expect(runtime.delete("rc-missing")).resolves.toBeUndefined();
    expect(await runtime.state("rc-missing")).toBeUndefined();
    await expect(runtime.createAndStart("rc-bad", join(dir, "no-bundle"))).rejects.toThrow(
      /^run rc-bad: kshim: .*no-bundle/,
    );
  });

  it("survives an exec that exits without reading a large stdin", async () => {
    await runtime.createAndStart(id, bundle);
    const big = "x".repeat(4 << 20);
    const results = await Promise.all(
      Array.from({ length: 5 }, () => runtime.exec(id, ["sh", "-c", "exit 3"], 10_000, big)),
    );
    expect(results.map((r) => r.exitCode)).toEqual([3, 3, 3, 3, 3]);
    await runtime.delete(id, true);
  });

  it("reads the state kshim state prints: created, running, stopped, gone, and a dead monitor", async () => {
    const shimState = () =>
      JSON.parse(execFileSync(SHIM, ["--root", runtime.root, "state", id], { encoding: "utf8" })) as {
        status: string;
        pid: number;
      };
    const expectSame = async (status: string) => {
      const ours = await runtime.state(id);
      expect(ours?.status).toBe(status);
      expect(shimState()).toMatchObject({ status, pid: ours?.pid });
    };
    execFileSync(SHIM, ["--root", runtime.root, "create", id, "--bundle", bundle]);
    await expectSame("created");
    execFileSync(SHIM, ["--root", runtime.root, "start", id]);
    await expectSame("running");
    await runtime.kill(id, "KILL");
    for (let i = 0; i < 100 && (await runtime.state(id))?.status !== "stopped"; i++)
      await new Promise((r) => setTimeout(r, 20));
    await expectSame("stopped");
    expect((await runtime.state(id))?.exit).toMatchObject({ signal: 9 });
    await runtime.delete(id, true);
    expect(await runtime.state(id)).toBeUndefined();

    // Monitor and init killed outright: no exit.json is ever written, and still the container is
    // stopped, not running forever.
    await runtime.createAndStart(id, bundle);
    const shim = JSON.parse(readFileSync(join(runtime.root, id, "shim.json"), "utf8")) as {
      pid: number;
      monitorPid: number;
    };
    process.kill(shim.monitorPid, "SIGKILL");
    process.kill(shim.pid, "SIGKILL");
    for (
      let i = 0;
      i < 100 &&
      existsSync(`/proc/${shim.pid}/stat`) &&
      !readFileSync(`/proc/${shim.pid}/stat`, "utf8").includes(") Z");
      i++
    )
      await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(join(runtime.root, id, "exit.json"))).toBe(false);
    await expectSame("stopped");
    await runtime.delete(id, true);
  });
});

/**
 * Without root: a stand-in runtime (a script that logs its command line) behind the real command
 * runner, for the errors callers match and a helper that dies under a call.
 */
describe.skipIf(!existsSync(nativeBuildPath("command-runner")))(
  "RuntimeClient's calls through its helper",
  () => {
    let dir: string;
    let runtime: RuntimeClient;
    let script: string;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "kctl-runtime-calls-"));
      script = join(dir, "fake-runtime");
      // $3 is the command (after --root DIR), $4 the id.
      await writeFile(
        script,
        [
          "#!/bin/sh",
          `echo "$*" >> ${dir}/calls`,
          'case "$3/$4" in',
          "  kill/slow) exec sleep 30 ;;",
          "  run/*) exit 1 ;;",
          '  delete/*|kill/*) echo "container "$4" does not exist" >&2; exit 1 ;;',
          '  state/*) echo "boom: $4" >&2; exit 1 ;;',
          "esac",
        ].join("\n"),
      );
      await chmod(script, 0o755);
      runtime = new RuntimeClient(script, join(dir, "root"));
    });

    afterAll(async () => {
      const pid = runtime?.runner.helperPid;
      if (pid) process.kill(pid, "SIGKILL");
      await rm(dir, { recursive: true, force: true });
    });

    it("gives the runtime's stderr, or execFile's message without one, and deletes a failed create", async () => {
      await expect(runtime.state("x")).rejects.toThrow(new RuntimeError("state", "x", "boom: x"));
      await expect(runtime.kill("x", "TERM")).resolves.toBeUndefined();
      await expect(runtime.delete("x", true)).resolves.toBeUndefined();
      await writeFile(join(dir, "calls"), "");
      await expect(runtime.createAndStart("c", "/b")).rejects.toThrow(
        new RuntimeError(
          "run",
          "c",
          `Command failed: ${script} --root ${dir}/root run --detach c --bundle /b`,
        ),
      );
      expect(await readFile(join(dir, "calls"), "utf8")).toBe(
        `--root ${dir}/root run --detach c --bundle /b\n--root ${dir}/root delete --force c\n`,
      );
    });

    it("fails a call whose helper died, naming the call, and the next call starts a new helper", async () => {
      await runtime.delete("warm");
      const first = runtime.runner.helperPid!;
      const pending = runtime.kill("slow", "TERM");
      await new Promise((r) => setTimeout(r, 200));
      process.kill(first, "SIGKILL");
      await expect(pending).rejects.toThrow(
        new RuntimeError(
          "kill",
          "slow",
          `${script} --root ${dir}/root kill slow TERM: helper ended: killed by SIGKILL`,
        ),
      );
      await expect(runtime.delete("after")).resolves.toBeUndefined();
      expect(runtime.runner.helperPid).not.toBe(first);
    });
  },
);
