/**
 * The runtime client against the real kshim (root): a create that died half-way must not wedge the
 * container id, because the pod worker retries a failed start with the same id; the state it reads
 * in-process is the one `kshim state` prints, at every step of a container's life.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeBundle } from "../../../native/testing/oci-bundle.js";
import { SHIM } from "../../../native/testing/oci-runtimes.js";
import { type TestCgroupParent, testCgroupParent } from "../../../native/testing/test-cgroups.js";
import { buildBusyboxRootfs } from "../images/busybox-rootfs.js";
import { RuntimeClient } from "./runtime-client.js";

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
