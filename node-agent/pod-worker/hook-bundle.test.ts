import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Container } from "../../proto/gen/api.js";
import type { Sandbox } from "../network/index.js";
import type { ResolvedImage } from "../runtime/images/index.js";
import type { ContainerSecurity } from "../runtime/oci/container-config.js";
import { bundleConfig, bundleHook } from "./hook-bundle.js";
import type { ObjectLookup } from "./object-lookup.js";
import type { PodWorkerDeps } from "./pod-worker-deps.js";
import { fakeRun, podOf, setupOf } from "./testing/fake-pod-run.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "bundle-hook-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const image = {
  imageId: "sha256:abc",
  config: { entrypoint: ["/entry"], cmd: ["default"], env: ["PATH=/bin", "A=image"], workingDir: "/work" },
} as unknown as ResolvedImage;
const security: ContainerSecurity = {
  user: { uid: 1000, gid: 1000, additionalGids: [] },
  capabilities: [],
  noNewPrivileges: true,
  readonlyRootfs: true,
  maskedPaths: [],
  readonlyPaths: [],
  privileged: false,
};
const noLookup: ObjectLookup = { configMap: async () => undefined, secret: async () => undefined };

/** An attempt whose earlier hooks have run: image, rootfs, cgroup, log and one mount. */
function prepared(spec: Container, deps: Partial<PodWorkerDeps> = {}) {
  const run = fakeRun(podOf({ containers: [spec] }), { lookup: noLookup, hostIP: "192.0.2.1", ...deps }, dir);
  run.sandbox = { ip: "10.244.0.5", netnsPath: "/netns/p" } as Sandbox;
  const a = setupOf(run, spec);
  Object.assign(a, { image, security, rootfs: "/rootfs", cgroupsPath: "kctl/pod/x", logPath: "/logs/0.log" });
  a.mounts.push({ source: "/v", destination: "/data" });
  return { run, a };
}

describe("bundle hook", () => {
  it("overrides the image's entrypoint with command and its cmd with args, and layers env over the image's", () => {
    const { run, a } = prepared({ name: "main" });
    const env = new Map([["A", "spec"]]);
    expect(bundleConfig(run, a, { env, command: undefined, args: undefined })).toMatchObject({
      args: ["/entry", "default"],
      env: ["PATH=/bin", "A=spec"],
      cwd: "/work",
      hostname: "p",
      rootfs: "/rootfs",
      netnsPath: "/netns/p",
      cgroupsPath: "kctl/pod/x",
      logPath: "/logs/0.log",
      mounts: [{ source: "/v", destination: "/data" }],
      security,
    });
    expect(bundleConfig(run, a, { env, command: undefined, args: ["x"] }).args).toEqual(["/entry", "x"]);
    expect(bundleConfig(run, a, { env, command: ["/bin/sh"], args: undefined }).args).toEqual(["/bin/sh"]);
  });

  it("gives the runtime the node's log rotation, and none when the node keeps the defaults", () => {
    const none = { env: new Map<string, string>(), command: undefined, args: undefined };
    const logRotation = { maxBytes: 1 << 20, maxFiles: 3 };
    const rotated = prepared({ name: "main" }, { logRotation });
    expect(bundleConfig(rotated.run, rotated.a, none).logRotation).toEqual(logRotation);
    const plain = prepared({ name: "main" });
    expect(bundleConfig(plain.run, plain.a, none).logRotation).toBeUndefined();
  });

  it("turns limits and requests into cgroup settings", () => {
    const { run, a } = prepared({
      name: "main",
      resources: { limits: { memory: "32Mi", cpu: "500m" }, requests: { cpu: "250m" } },
    });
    expect(bundleConfig(run, a, { env: new Map(), command: undefined, args: undefined })).toMatchObject({
      memoryLimit: 32 * 1024 * 1024,
      cpuLimitMilli: 500,
      cpuRequestMilli: 250,
    });
  });

  it("writes config.json with the resolved environment, and removes the bundle with the attempt", async () => {
    const { run, a } = prepared({
      name: "main",
      env: [{ name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }],
    });
    await bundleHook().prestart!(run, a);
    expect(a.bundle).toBe(join(dir, "bundles", a.id));
    const config = JSON.parse(await readFile(join(a.bundle!, "config.json"), "utf8"));
    expect(config.process.env).toContain("IP=10.244.0.5");
    expect(config.process.user.uid).toBe(1000);
    await bundleHook().poststop!(run, a);
    await expect(stat(a.bundle!)).rejects.toThrow();
  });

  it("makes a container without a command, or with a missing env source, wait as CreateContainerConfigError", async () => {
    const noCommand = prepared({ name: "main" });
    noCommand.a.image = { ...image, config: { ...image.config, entrypoint: [], cmd: [] } };
    await expect(bundleHook().prestart!(noCommand.run, noCommand.a)).rejects.toMatchObject({
      reason: "CreateContainerConfigError",
      message: 'container "main": no command (the image has no entrypoint or cmd)',
    });
    const missing = prepared({ name: "main", envFrom: [{ configMapRef: { name: "gone" } }] });
    await expect(bundleHook().prestart!(missing.run, missing.a)).rejects.toMatchObject({
      reason: "CreateContainerConfigError",
      message: 'envFrom[0]: configmap "gone" not found',
    });
  });
});
