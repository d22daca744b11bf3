/**
 * Root test: the driver runs busybox bundles on the shim and on runc (same bundles), inside a pod
 * sandbox made by the network module over a rootfs made by the image store.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sandbox } from "../../network/index.js";
import { containerCgroupPath } from "./cgroups-linux.js";
import { type ContainerBundleSpec, writeBundle } from "./oci-config.js";
import { KSHIM, makeNodeFixture, type NodeFixture } from "./testing/node-fixture-linux.js";

const isRoot = process.getuid?.() === 0;

async function waitFor<T>(fn: () => Promise<T | undefined>, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!isRoot)("OCI runtime driver (root)", () => {
  let node: NodeFixture;
  let sandbox: Sandbox;

  beforeAll(async () => {
    node = await makeNodeFixture("shim");
    sandbox = await node.network.setupSandbox({ podUID: "uid-drv", podName: "drv", namespace: "default" });
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  async function bundle(id: string, args: string[], extra: Partial<ContainerBundleSpec> = {}) {
    const rootfs = await node.images.prepareRootfs(id, "busybox");
    const dir = join(node.scratch, "bundles", id);
    await writeBundle(dir, {
      rootfs: rootfs.path,
      image: rootfs.image.config,
      command: args,
      env: [{ name: "GREETING", value: "hi" }],
      hostname: "drv",
      netnsPath: sandbox.netnsPath,
      mounts: [{ source: sandbox.files.hosts, destination: "/etc/hosts", readOnly: true }],
      cgroupsPath: containerCgroupPath(node.cgroupParent, "uid-drv", id),
      ...extra,
    });
    return { dir, rootfs };
  }

  for (const runtime of ["kshim", "runc"]) {
    it(`${runtime}: runs to exit with code, CRI log, hostname, env, pod IP and Docker caps`, async () => {
      const driver = node.driver(runtime === "kshim" ? KSHIM : "runc");
      const id = `exit-${runtime}`;
      const { dir, rootfs } = await bundle(id, [
        "sh",
        "-c",
        "echo $GREETING from $(hostname); ip -o -4 addr show eth0; grep CapEff /proc/self/status; echo oops >&2; exit 3",
      ]);
      await driver.run(id, dir);
      const state = await waitFor(async () => {
        const s = await driver.state(id);
        return s?.status === "stopped" ? s : undefined;
      }, "exit");
      expect(state).toMatchObject({ status: "stopped", exitCode: 3, pid: 0, oomKilled: false });
      const log = readFileSync(state.logPath!, "utf8");
      expect(log).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stdout F hi from drv$/m);
      expect(log).toContain(sandbox.ip);
      expect(log).toContain("CapEff:\t00000000a80425fb");
      expect(log).toMatch(/ stderr F oops$/m);
      await driver.delete(id);
      await driver.delete(id);
      expect(await driver.state(id)).toBeUndefined();
      await rootfs.release();
    });

    it(`${runtime}: exec, SIGTERM and idempotent kill/delete of a running container`, async () => {
      const driver = node.driver(runtime === "kshim" ? KSHIM : "runc");
      const id = `svc-${runtime}`;
      const { dir, rootfs } = await bundle(id, [
        "sh",
        "-c",
        "trap 'exit 143' TERM; while true; do sleep 0.1; done",
      ]);
      const started = await driver.run(id, dir);
      expect(started.status).toBe("running");
      expect(started.pid).toBeGreaterThan(0);
      const r = await driver.exec(id, ["sh", "-c", "echo $GREETING; exit 7"], 5000);
      expect(r).toMatchObject({ exitCode: 7, stdout: "hi\n" });
      await driver.kill(id, "TERM");
      const state = await waitFor(async () => {
        const s = await driver.state(id);
        return s?.status === "stopped" ? s : undefined;
      }, "stop");
      expect(state.exitCode).toBe(143);
      await driver.kill(id, "KILL");
      await driver.delete(id);
      await driver.kill(id, "KILL");
      await rootfs.release();
    });
  }

  it("kshim: a memory hog over limits.memory is reported oomKilled", async () => {
    const driver = node.driver(KSHIM);
    const id = "oom";
    const { dir, rootfs } = await bundle(id, ["sh", "-c", "x=a; while true; do x=$x$x; done"], {
      resources: { limits: { memory: "16Mi" } },
    });
    await driver.run(id, dir);
    const state = await waitFor(
      async () => {
        const s = await driver.state(id);
        return s?.status === "stopped" ? s : undefined;
      },
      "oom",
      30_000,
    );
    expect(state).toMatchObject({ oomKilled: true, exitCode: 137, signal: 9 });
    await driver.delete(id);
    await rootfs.release();
  });

  it("bad input: a bad id, a bundle the runtime refuses; nothing is left behind", async () => {
    const driver = node.driver(KSHIM);
    await expect(driver.run("../x", "/nowhere")).rejects.toThrow(/container id: "..\/x"/);
    const { dir, rootfs } = await bundle("bad", ["true"], { resources: { limits: { memory: "1Ki" } } });
    await expect(driver.run("bad", dir)).rejects.toThrow(/kshim create bad: exit 1: .*memory.limit/);
    expect(await driver.state("bad")).toBeUndefined();
    await rootfs.release();
    await expect(bundle("bad2", ["true"], { resources: { limits: { cpu: "lots" } } })).rejects.toThrow(
      /^resources.limits.cpu: invalid quantity "lots"/,
    );
    await node.images.releaseRootfs("bad2");
  });
});
