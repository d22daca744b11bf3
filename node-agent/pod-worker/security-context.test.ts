import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Container, Pod, PodSpec, SecurityContext } from "../../proto/gen/api.js";
import { defaultCapabilities, maskedPaths, readonlyPaths } from "../runtime/oci/container-config.js";
import type { Accounts } from "../runtime/oci/image-user.js";
import {
  containerSecurity,
  type NodeSecurity,
  planSecurity,
  type SeccompProfiles,
  SecurityContextError,
  type SecurityInput,
  type SecurityPlan,
} from "./security-context.js";
import { UserNamespaceRanges } from "./userns-ranges.js";

const accounts: Accounts = {
  passwd: [
    { name: "root", uid: 0, gid: 0 },
    { name: "app", uid: 1000, gid: 1000 },
    { name: "www", uid: 33, gid: 33 },
  ],
  groups: [
    { name: "root", gid: 0, members: [] },
    { name: "app", gid: 1000, members: [] },
    { name: "www", gid: 33, members: [] },
    { name: "staff", gid: 50, members: ["app", "www"] },
    { name: "audio", gid: 63, members: ["www"] },
  ],
};

function input(
  spec: Omit<PodSpec, "containers">,
  sc?: SecurityContext,
  over: Partial<SecurityInput> = {},
): SecurityInput {
  const container: Container = { name: "c", image: "img", ...(sc ? { securityContext: sc } : {}) };
  const pod: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "ns", uid: "u-1" },
    spec: { ...spec, containers: [container] },
  };
  return {
    pod,
    container,
    imageUser: "",
    accounts,
    allowPrivileged: false,
    seccompRoot: "/var/lib/kctl/agent/seccomp",
    ...over,
  };
}

const base: SecurityPlan = {
  user: { uid: 0, gid: 0, additionalGids: [0] },
  capabilities: [...defaultCapabilities],
  noNewPrivileges: false,
  readonlyRootfs: false,
  maskedPaths: [...maskedPaths],
  readonlyPaths: [...readonlyPaths],
  privileged: false,
  seccomp: { type: "RuntimeDefault" },
};

const allCaps = 41;

describe("planSecurity: the user", () => {
  it.each<[string, SecurityInput, SecurityPlan["user"]]>([
    ["nothing set: root", input({}), { uid: 0, gid: 0, additionalGids: [0] }],
    [
      "image USER uid in passwd",
      input({}, undefined, { imageUser: "1000" }),
      { uid: 1000, gid: 1000, additionalGids: [1000, 50] },
    ],
    [
      "image USER uid not in passwd: gid 0",
      input({}, undefined, { imageUser: "4242" }),
      { uid: 4242, gid: 0, additionalGids: [0] },
    ],
    [
      "image USER name",
      input({}, undefined, { imageUser: "www" }),
      { uid: 33, gid: 33, additionalGids: [33, 50, 63] },
    ],
    [
      "image USER name:group",
      input({}, undefined, { imageUser: "www:staff" }),
      { uid: 33, gid: 50, additionalGids: [50, 63] },
    ],
    [
      "image USER uid:gid",
      input({}, undefined, { imageUser: "1000:7" }),
      { uid: 1000, gid: 7, additionalGids: [7, 50] },
    ],
    [
      "pod runAsUser overrides the image",
      input({ securityContext: { runAsUser: 33 } }, undefined, { imageUser: "app" }),
      { uid: 33, gid: 33, additionalGids: [33, 50, 63] },
    ],
    [
      "runAsUser overrides the image's group too",
      input({ securityContext: { runAsUser: 1000 } }, undefined, { imageUser: "www:audio" }),
      { uid: 1000, gid: 1000, additionalGids: [1000, 50] },
    ],
    [
      "container runAsUser overrides the pod's",
      input({ securityContext: { runAsUser: 33 } }, { runAsUser: 2000 }),
      { uid: 2000, gid: 0, additionalGids: [0] },
    ],
    [
      "pod runAsGroup overrides the image group",
      input({ securityContext: { runAsGroup: 3000 } }, undefined, { imageUser: "www:staff" }),
      { uid: 33, gid: 3000, additionalGids: [3000, 50, 63] },
    ],
    [
      "container runAsGroup overrides the pod's",
      input({ securityContext: { runAsUser: 1, runAsGroup: 3000 } }, { runAsGroup: 4000 }),
      { uid: 1, gid: 4000, additionalGids: [4000] },
    ],
    [
      "supplementalGroups and fsGroup join, without duplicates",
      input({ securityContext: { runAsUser: 1000, supplementalGroups: [50, 5000], fsGroup: 2000 } }),
      { uid: 1000, gid: 1000, additionalGids: [1000, 50, 5000, 2000] },
    ],
  ])("%s", (_name, inp, user) => {
    expect(planSecurity(inp).user).toEqual(user);
  });

  it.each([
    [
      "an unknown image user name",
      { imageUser: "ghost" },
      'image user "ghost": unable to find user ghost: no matching entries in passwd file',
    ],
    [
      "an unknown image group name",
      { imageUser: "app:ghosts" },
      'image user "app:ghosts": unable to find group ghosts: no matching entries in group file',
    ],
  ])("refuses %s", (_name, over, message) => {
    expect(() => planSecurity(input({}, undefined, over))).toThrow(message);
  });
});

describe("planSecurity: runAsNonRoot, with the kubelet's messages", () => {
  const where = '(pod: "p_ns(u-1)", container: c)';
  it.each<[string, SecurityInput, string | undefined]>([
    [
      "image without USER runs as root",
      input({ securityContext: { runAsNonRoot: true } }),
      `container has runAsNonRoot and image will run as root ${where}`,
    ],
    [
      "image USER 0",
      input({}, { runAsNonRoot: true }, { imageUser: "0:0" }),
      `container has runAsNonRoot and image will run as root ${where}`,
    ],
    [
      "image USER a name, even one that resolves",
      input({}, { runAsNonRoot: true }, { imageUser: "app" }),
      `container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root ${where}`,
    ],
    [
      "runAsUser 0",
      input({ securityContext: { runAsNonRoot: true } }, { runAsUser: 0 }, { imageUser: "1000" }),
      `container's runAsUser breaks non-root policy ${where}`,
    ],
    ["image USER numeric non-root", input({}, { runAsNonRoot: true }, { imageUser: "1000" }), undefined],
    [
      "runAsUser non-root over a root image",
      input({ securityContext: { runAsUser: 5 } }, { runAsNonRoot: true }),
      undefined,
    ],
    [
      "container runAsNonRoot false overrides the pod's true",
      input({ securityContext: { runAsNonRoot: true } }, { runAsNonRoot: false }),
      undefined,
    ],
  ])("%s", (_name, inp, message) => {
    if (message) expect(() => planSecurity(inp)).toThrow(message);
    else expect(() => planSecurity(inp)).not.toThrow();
  });
});

describe("planSecurity: confinement", () => {
  it("defaults to containerd's capabilities and paths, RuntimeDefault seccomp, escalation allowed", () => {
    expect(planSecurity(input({}))).toEqual(base);
  });

  it.each<[string, SecurityContext, string[]]>([
    ["drop ALL", { capabilities: { drop: ["ALL"] } }, []],
    [
      "drop ALL then add one",
      { capabilities: { drop: ["all"], add: ["NET_BIND_SERVICE"] } },
      ["CAP_NET_BIND_SERVICE"],
    ],
    [
      "add with and without the CAP_ prefix, any case",
      { capabilities: { add: ["net_admin", "CAP_SYS_TIME"] } },
      [...defaultCapabilities, "CAP_NET_ADMIN", "CAP_SYS_TIME"],
    ],
    [
      "drop single ones",
      { capabilities: { drop: ["CHOWN", "cap_kill", "NET_ADMIN"] } },
      defaultCapabilities.filter((c) => c !== "CAP_CHOWN" && c !== "CAP_KILL"),
    ],
    ["add the same twice", { capabilities: { add: ["CHOWN", "CAP_CHOWN"] } }, [...defaultCapabilities]],
  ])("capabilities: %s", (_name, sc, caps) => {
    expect(planSecurity(input({}, sc)).capabilities).toEqual(caps);
  });

  it("capabilities: add ALL gives every capability, minus single drops", () => {
    const caps = planSecurity(
      input({}, { capabilities: { add: ["ALL"], drop: ["SYS_ADMIN"] } }),
    ).capabilities;
    expect(caps).toHaveLength(allCaps - 1);
    expect(caps).not.toContain("CAP_SYS_ADMIN");
    expect(caps).toContain("CAP_BPF");
  });

  it.each<[string, SecurityContext, Partial<SecurityPlan>]>([
    ["allowPrivilegeEscalation false", { allowPrivilegeEscalation: false }, { noNewPrivileges: true }],
    ["allowPrivilegeEscalation true", { allowPrivilegeEscalation: true }, { noNewPrivileges: false }],
    ["readOnlyRootFilesystem", { readOnlyRootFilesystem: true }, { readonlyRootfs: true }],
    ["procMount Default", { procMount: "Default" }, {}],
  ])("%s", (_name, sc, changes) => {
    expect(planSecurity(input({}, sc))).toEqual({ ...base, ...changes });
  });

  it.each<
    [string, Omit<PodSpec, "containers">, SecurityContext | undefined, SecurityPlan["seccomp"] | "none"]
  >([
    ["unset: RuntimeDefault", {}, undefined, { type: "RuntimeDefault" }],
    ["pod Unconfined", { securityContext: { seccompProfile: { type: "Unconfined" } } }, undefined, "none"],
    [
      "container RuntimeDefault over pod Unconfined",
      { securityContext: { seccompProfile: { type: "Unconfined" } } },
      { seccompProfile: { type: "RuntimeDefault" } },
      { type: "RuntimeDefault" },
    ],
    [
      "container Unconfined over pod Localhost",
      { securityContext: { seccompProfile: { type: "Localhost", localhostProfile: "a.json" } } },
      { seccompProfile: { type: "Unconfined" } },
      "none",
    ],
    [
      "Localhost, inside the node's profile dir",
      { securityContext: { seccompProfile: { type: "Localhost", localhostProfile: "team/a.json" } } },
      undefined,
      { type: "Localhost", path: "/var/lib/kctl/agent/seccomp/team/a.json" },
    ],
  ])("seccomp: %s", (_name, spec, sc, want) => {
    expect(planSecurity(input(spec, sc)).seccomp).toEqual(want === "none" ? undefined : want);
  });

  it("seccomp: a Localhost path leaving the profile dir is refused even if validation was bypassed", () => {
    const sc = { seccompProfile: { type: "Localhost", localhostProfile: "../../../etc/evil.json" } };
    expect(() => planSecurity(input({}, sc))).toThrow(
      "must be a relative path inside the node's profile directory",
    );
  });

  it("procMount Unmasked: no masked or read-only paths (needs hostUsers false)", () => {
    const plan = planSecurity(
      input({ hostUsers: false }, { procMount: "Unmasked" }, { idRange: { hostId: 65536, size: 65536 } }),
    );
    expect(plan.maskedPaths).toEqual([]);
    expect(plan.readonlyPaths).toEqual([]);
  });

  it("privileged is refused unless the node allows it, naming the flag", () => {
    expect(() => planSecurity(input({}, { privileged: true }))).toThrow(
      'container "c" is privileged, but this node does not allow privileged containers (its agent runs without --allow-privileged)',
    );
  });

  it("privileged where allowed: every capability, no masks, no seccomp, escalation allowed", () => {
    const plan = planSecurity(
      input(
        { securityContext: { seccompProfile: { type: "RuntimeDefault" } } },
        { privileged: true, capabilities: { drop: ["ALL"] } },
        { allowPrivileged: true },
      ),
    );
    expect(plan).toEqual({
      ...base,
      privileged: true,
      capabilities: expect.any(Array),
      maskedPaths: [],
      readonlyPaths: [],
      seccomp: undefined,
    });
    expect(plan.capabilities).toHaveLength(allCaps);
  });

  it("hostUsers false: the pod's range, with every id inside it", () => {
    const idRange = { hostId: 131072, size: 65536 };
    expect(planSecurity(input({ hostUsers: false }, { runAsUser: 1000 }, { idRange })).idRange).toEqual(
      idRange,
    );
    expect(planSecurity(input({ hostUsers: true }, undefined, { idRange })).idRange).toBeUndefined();
    expect(() =>
      planSecurity(input({ hostUsers: false, securityContext: { fsGroup: 70000 } }, undefined, { idRange })),
    ).toThrow("gid 70000 is outside the pod's user namespace (hostUsers: false maps container ids 0-65535)");
    expect(() => planSecurity(input({ hostUsers: false }, { runAsUser: 65536 }, { idRange }))).toThrow(
      "uid 65536 is outside",
    );
  });
});

describe("containerSecurity: accounts from the rootfs, the pod's range, the seccomp filter", () => {
  let dir: string;
  let rootfs: string;
  let calls: unknown[][];
  const profiles: SeccompProfiles = {
    defaultSeccompProfile: (caps) => {
      calls.push(["default", caps]);
      return { defaultAction: "SCMP_ACT_ERRNO", from: "default" };
    },
    localhostProfile: async (path) => {
      calls.push(["localhost", path]);
      if (path.endsWith("missing.json")) throw new Error("ENOENT: no such file");
      return { defaultAction: "SCMP_ACT_LOG", from: path };
    },
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "secctx-unit-"));
    rootfs = join(dir, "rootfs");
    await mkdir(join(rootfs, "etc"), { recursive: true });
    await writeFile(join(rootfs, "etc/passwd"), "root:x:0:0::/:/bin/sh\napp:x:1000:1000::/:/bin/sh\n");
    await writeFile(join(rootfs, "etc/group"), "app:x:1000:\nstaff:x:50:app\n");
    calls = [];
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const node = (): NodeSecurity => ({
    allowPrivileged: false,
    seccompRoot: join(dir, "seccomp"),
    userNamespaces: new UserNamespaceRanges(dir),
    seccompProfiles: profiles,
  });

  it("resolves the image's USER name in the rootfs and builds the default filter for the final capabilities", async () => {
    const { pod, container } = input({}, { capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] } });
    const sec = await containerSecurity(pod, container, "app", rootfs, node());
    expect(sec.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 50] });
    expect(sec.seccomp).toEqual({ defaultAction: "SCMP_ACT_ERRNO", from: "default" });
    expect(calls).toEqual([["default", ["CAP_NET_BIND_SERVICE"]]]);
    expect(sec.idRange).toBeUndefined();
  });

  it("loads a Localhost profile from the node's profile dir, and names it when it cannot", async () => {
    const local = (file: string) =>
      input({ securityContext: { seccompProfile: { type: "Localhost", localhostProfile: file } } });
    const ok = local("a.json");
    expect((await containerSecurity(ok.pod, ok.container, "", rootfs, node())).seccomp).toEqual({
      defaultAction: "SCMP_ACT_LOG",
      from: join(dir, "seccomp/a.json"),
    });
    const missing = local("missing.json");
    await expect(containerSecurity(missing.pod, missing.container, "", rootfs, node())).rejects.toThrow(
      new SecurityContextError(
        `seccompProfile Localhost ${join(dir, "seccomp/missing.json")}: ENOENT: no such file`,
      ),
    );
  });

  it("refuses a hostUsers false pod whose files a user namespace's root could not reach, naming the directory", async () => {
    await chmod(dir, 0o700);
    const { pod, container } = input({ hostUsers: false });
    await expect(containerSecurity(pod, container, "", rootfs, node())).rejects.toThrow(
      `hostUsers: false: ${dir} (mode 0700) must be searchable by others (chmod o+x)`,
    );
  });

  it("gives a hostUsers false pod its range, the same one for each of its containers", async () => {
    await chmod(dir, 0o711);
    const n = node();
    const { pod, container } = input({ hostUsers: false });
    const first = await containerSecurity(pod, container, "", rootfs, n);
    const again = await containerSecurity(pod, container, "", rootfs, n);
    expect(first.idRange).toEqual({ hostId: 65536, size: 65536 });
    expect(again.idRange).toEqual(first.idRange);
    expect(await n.userNamespaces.holders()).toEqual(["u-1"]);
  });
});
