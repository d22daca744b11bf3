import { describe, expect, it } from "vitest";
import {
  type ContainerConfigInput,
  type ContainerSecurity,
  containerConfig,
  defaultCapabilities,
  maskedPaths,
  readonlyPaths,
} from "./container-config.js";

const security: ContainerSecurity = {
  user: { uid: 1000, gid: 3000, additionalGids: [3000, 2000] },
  capabilities: ["CAP_NET_BIND_SERVICE"],
  noNewPrivileges: true,
  readonlyRootfs: true,
  maskedPaths: [...maskedPaths],
  readonlyPaths: [...readonlyPaths],
  privileged: false,
};

function config(sec: Partial<ContainerSecurity>, extra: Partial<ContainerConfigInput> = {}) {
  const input: ContainerConfigInput = {
    rootfs: "/r",
    args: ["sh"],
    env: [],
    cwd: "/",
    hostname: "h",
    netnsPath: "/run/netns/n",
    cgroupsPath: "/kctl/pods/x",
    logPath: "/l",
    mounts: [],
    security: { ...security, ...sec },
    ...extra,
  };
  // biome-ignore lint/suspicious/noExplicitAny: the OCI config is untyped JSON
  return containerConfig(input) as any;
}

describe("containerConfig takes the container's security", () => {
  it("user, capabilities, no_new_privs, read-only root, masks", () => {
    const c = config({});
    expect(c.process.user).toEqual({ uid: 1000, gid: 3000, additionalGids: [3000, 2000] });
    for (const set of ["bounding", "effective", "permitted"])
      expect(c.process.capabilities[set]).toEqual(["CAP_NET_BIND_SERVICE"]);
    expect(c.process.noNewPrivileges).toBe(true);
    expect(c.root).toEqual({ path: "/r", readonly: true });
    expect(c.linux.maskedPaths).toContain("/sys/devices/virtual/powercap");
    expect(c.linux.readonlyPaths).toEqual(readonlyPaths);
    expect(c.linux.seccomp).toBeUndefined();
    expect(c.linux.uidMappings).toBeUndefined();
    expect(c.linux.resources.devices).toEqual([{ allow: false, access: "rwm" }]);
    expect(c.mounts.find((m: { destination: string }) => m.destination === "/sys").options).toContain("ro");
    expect(c.linux.namespaces.map((n: { type: string }) => n.type)).toEqual([
      "pid",
      "network",
      "ipc",
      "uts",
      "mount",
      "cgroup",
    ]);
  });

  it("a user namespace with the pod's range", () => {
    const c = config({ idRange: { hostId: 131072, size: 65536 } });
    expect(c.linux.namespaces).toContainEqual({ type: "user" });
    expect(c.linux.uidMappings).toEqual([{ containerID: 0, hostID: 131072, size: 65536 }]);
    expect(c.linux.gidMappings).toEqual([{ containerID: 0, hostID: 131072, size: 65536 }]);
  });

  it("the node's log rotation as kshim's annotations, none when the node keeps the defaults", () => {
    const c = config({}, { logRotation: { maxBytes: 1 << 20, maxFiles: 3 } });
    expect(c.annotations["io.kctl.log.max-size"]).toBe(String(1 << 20));
    expect(c.annotations["io.kctl.log.max-files"]).toBe("3");
    expect(config({}).annotations["io.kctl.log.max-size"]).toBeUndefined();
  });

  it("an attachable stdin as kshim's annotation, none for /dev/null", () => {
    expect(config({}, { stdin: "once" }).annotations["io.kctl.shim.stdin"]).toBe("once");
    expect(config({}).annotations["io.kctl.shim.stdin"]).toBeUndefined();
  });

  it("the seccomp filter as given", () => {
    const filter = { defaultAction: "SCMP_ACT_ERRNO", syscalls: [] };
    expect(config({ seccomp: filter }).linux.seccomp).toEqual(filter);
  });

  it("privileged: every device, /sys read-write", () => {
    const c = config({
      privileged: true,
      capabilities: defaultCapabilities,
      maskedPaths: [],
      readonlyPaths: [],
    });
    expect(c.linux.resources.devices).toEqual([{ allow: true, access: "rwm" }]);
    const sys = c.mounts.find((m: { destination: string }) => m.destination === "/sys");
    expect(sys.options).toContain("rw");
    expect(sys.options).not.toContain("ro");
    expect(c.linux.maskedPaths).toEqual([]);
  });
});
