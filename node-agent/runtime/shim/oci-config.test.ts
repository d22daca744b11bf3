import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { agentCgroupParent, containerCgroupPath } from "./cgroups-linux.js";
import {
  buildOciConfig,
  type ContainerBundleSpec,
  cgroupResources,
  processArgs,
  processEnv,
  resolveUser,
} from "./oci-config.js";

const image = {
  entrypoint: ["/entry"],
  cmd: ["default-cmd"],
  env: ["PATH=/bin", "A=image"],
  workingDir: "/srv",
  user: "",
};

describe("processArgs (Kubernetes command/args over entrypoint/cmd)", () => {
  it.each([
    [undefined, undefined, ["/entry", "default-cmd"]],
    [["/bin/run"], undefined, ["/bin/run"]],
    [undefined, ["x", "y"], ["/entry", "x", "y"]],
    [["/bin/run"], ["x"], ["/bin/run", "x"]],
    [[], [], ["/entry", "default-cmd"]],
  ])("command %j args %j → %j", (command, args, want) => {
    expect(processArgs(image, command, args)).toEqual(want);
  });

  it("refuses when nothing is left to run", () => {
    expect(() => processArgs({ entrypoint: [], cmd: [] }, undefined, undefined)).toThrow(/^command: /);
  });
});

describe("processEnv", () => {
  it("puts image env first and lets the container override in place", () => {
    expect(
      processEnv("web", image.env, [
        { name: "A", value: "mine" },
        { name: "B", value: "b=c" },
      ]),
    ).toEqual(["PATH=/bin", "HOSTNAME=web", "A=mine", "B=b=c"]);
  });
});

describe("cgroupResources", () => {
  it("maps limits and requests like the kubelet", () => {
    expect(
      cgroupResources({ limits: { memory: "64Mi", cpu: "250m" }, requests: { cpu: "100m" } }, 100),
    ).toEqual({
      devices: [{ allow: false, access: "rwm" }],
      memory: { limit: 64 * 1024 * 1024, swap: 64 * 1024 * 1024 },
      cpu: { quota: 25000, period: 100000, shares: 102 },
      pids: { limit: 100 },
    });
  });

  it("takes the limit as the request, and the minimum 2 shares without either", () => {
    expect(cgroupResources({ limits: { cpu: "2" } }, undefined).cpu).toEqual({
      quota: 200000,
      period: 100000,
      shares: 2048,
    });
    expect(cgroupResources(undefined, undefined).cpu).toEqual({ shares: 2 });
    expect((cgroupResources({ limits: { cpu: "1m" } }, undefined).cpu as { quota: number }).quota).toBe(1000);
  });

  it("names the field of a bad quantity", () => {
    expect(() =>
      cgroupResources({ limits: { memory: "lots" } }, undefined, "spec.containers[0].resources"),
    ).toThrow(/^spec.containers\[0\].resources.limits.memory: invalid quantity "lots"/);
  });
});

describe("buildOciConfig", () => {
  const spec: ContainerBundleSpec = {
    rootfs: "/rootfs",
    image,
    env: [],
    hostname: "web-0",
    netnsPath: "/state/netns/uid",
    mounts: [{ source: "/state/pods/uid/hosts", destination: "/etc/hosts", readOnly: true }],
    cgroupsPath: "/kctl/poduid/web",
  };

  it("joins the pod netns, makes the rest new, and binds pod files", () => {
    const c = buildOciConfig(spec, { uid: 0, gid: 0 }) as {
      process: Record<string, unknown>;
      hostname: string;
      mounts: { destination: string; options?: string[] }[];
      linux: { namespaces: unknown[]; cgroupsPath: string };
    };
    expect(c.hostname).toBe("web-0");
    expect(c.process.cwd).toBe("/srv");
    expect(c.process.noNewPrivileges).toBe(false);
    expect(c.linux.namespaces).toContainEqual({ type: "network", path: "/state/netns/uid" });
    expect(c.linux.namespaces).toContainEqual({ type: "cgroup" });
    expect(c.linux.cgroupsPath).toBe("/kctl/poduid/web");
    expect(c.mounts.map((m) => m.destination)).toEqual([
      "/proc",
      "/dev",
      "/dev/pts",
      "/dev/shm",
      "/dev/mqueue",
      "/sys",
      "/etc/hosts",
    ]);
    expect(c.mounts.at(-1)!.options).toContain("ro");
  });
});

describe("resolveUser", () => {
  const root = mkdtempSync(join(tmpdir(), "kctl-user-"));
  mkdirSync(join(root, "etc"));
  writeFileSync(join(root, "etc/passwd"), "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n");
  writeFileSync(join(root, "etc/group"), "root:x:0:\nstaff:x:50:\n");
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it.each([
    ["", { uid: 0, gid: 0 }],
    ["app", { uid: 1000, gid: 1001 }],
    ["1000", { uid: 1000, gid: 1001 }],
    ["2000", { uid: 2000, gid: 2000 }],
    ["app:staff", { uid: 1000, gid: 50 }],
    ["5:7", { uid: 5, gid: 7 }],
  ])("%j → %j", async (user, want) => {
    expect(await resolveUser(root, user)).toEqual(want);
  });

  it("names a user or group missing from the image", async () => {
    await expect(resolveUser(root, "ghost")).rejects.toThrow(/user "ghost": no user "ghost"/);
    await expect(resolveUser(root, "app:ghosts")).rejects.toThrow(/no group "ghosts"/);
  });
});

describe("agentCgroupParent", () => {
  it("goes beneath the deepest own cgroup when the hierarchies nest", () => {
    const self = "4:memory:/process_api/abc\n3:cpu:/\n0::/\n";
    expect(agentCgroupParent("kctl", self)).toBe("/process_api/abc/kctl");
    expect(containerCgroupPath("/process_api/abc/kctl", "u1", "web")).toBe("/process_api/abc/kctl/podu1/web");
  });

  it("refuses cgroups that do not nest, and a bad name", () => {
    expect(() => agentCgroupParent("kctl", "4:memory:/a\n3:cpu:/b\n")).toThrow(/do not nest/);
    expect(() => agentCgroupParent("a/b", "0::/\n")).toThrow(/one path component/);
  });
});
