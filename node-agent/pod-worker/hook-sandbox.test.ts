import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PodNetwork, Sandbox, SandboxRequest } from "../network/index.js";
import { sandboxHook } from "./hook-sandbox.js";
import { HookError } from "./pod-hook.js";
import { fakeRun, podOf, setupOf } from "./testing/fake-pod-run.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "sandbox-hook-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A network that records its calls and hands out one fixed sandbox. */
function fakeNetwork() {
  const calls: string[] = [];
  const sandbox: Sandbox = {
    podUID: "u",
    netnsPath: "/run/netns/u",
    ip: "10.244.0.5",
    prefixLength: 24,
    gateway: "10.244.0.1",
    hostVeth: "kveth0",
    files: { hosts: "/p/hosts", resolvConf: "/p/resolv.conf", hostname: "/p/hostname" },
  };
  const network = {
    setupSandbox: async (req: SandboxRequest) => {
      calls.push(`setup ${req.podName}`);
      return sandbox;
    },
    teardownSandbox: async (uid: string) => {
      calls.push(`teardown ${uid}`);
    },
  } as unknown as PodNetwork;
  return { network, calls };
}

describe("sandbox hook", () => {
  it("makes the sandbox once, mounts its files into each container, and tears it down", async () => {
    const { network, calls } = fakeNetwork();
    const run = fakeRun(podOf({ containers: [{ name: "main" }] }), { network }, dir);
    const hook = sandboxHook();
    await hook.prerun!(run);
    await hook.prerun!(run);
    expect(run.sandbox?.ip).toBe("10.244.0.5");
    const a = setupOf(run, { name: "main" });
    await hook.prestart!(run, a);
    expect(a.mounts).toEqual([
      { source: "/p/hosts", destination: "/etc/hosts" },
      { source: "/p/resolv.conf", destination: "/etc/resolv.conf" },
      { source: "/p/hostname", destination: "/etc/hostname" },
    ]);
    await hook.postrun!(run);
    expect(calls).toEqual(["setup p", `teardown ${run.uid}`]);
  });

  it("gives a dnsPolicy: Default pod a copy of the node's resolv.conf instead of the cluster's", async () => {
    const { network } = fakeNetwork();
    const nodeResolvConf = join(dir, "node-resolv.conf");
    await writeFile(nodeResolvConf, "nameserver 192.0.2.53\nsearch example.org\n");
    const run = fakeRun(
      podOf({ dnsPolicy: "Default", containers: [{ name: "main" }] }),
      { network, nodeResolvConf },
      dir,
    );
    await sandboxHook().prerun!(run);
    const pods = run.sandbox!.files.resolvConf;
    expect(pods.startsWith(dir)).toBe(true);
    expect(await readFile(pods, "utf8")).toBe("nameserver 192.0.2.53\nsearch example.org\n");
    expect(run.sandbox!.files.hosts).toBe("/p/hosts");
  });

  it("fails the sandbox naming the field and the file when the node's resolv.conf cannot be read", async () => {
    const { network } = fakeNetwork();
    const nodeResolvConf = join(dir, "missing");
    const run = fakeRun(podOf({ dnsPolicy: "Default", containers: [] }), { network, nodeResolvConf }, dir);
    const err = await sandboxHook().prerun!(run).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HookError);
    expect((err as HookError).reason).toBe("FailedCreatePodSandBox");
    expect((err as Error).message).toContain(
      `spec.dnsPolicy: Default: cannot copy the node's ${nodeResolvConf}`,
    );
    expect(run.sandbox).toBeUndefined();
  });
});
