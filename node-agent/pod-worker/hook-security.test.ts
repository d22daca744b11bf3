import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Container } from "../../proto/gen/api.js";
import type { ResolvedImage } from "../runtime/images/index.js";
import { securityHook } from "./hook-security.js";
import type { NodeSecurity } from "./security-context.js";
import { fakeRun, podOf, setupOf } from "./testing/fake-pod-run.js";

let rootfs: string;
beforeEach(async () => {
  rootfs = await mkdtemp(join(tmpdir(), "security-hook-"));
  await mkdir(join(rootfs, "etc"));
  await writeFile(join(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  await writeFile(join(rootfs, "etc", "group"), "root:x:0:\n");
});
afterEach(async () => {
  await rm(rootfs, { recursive: true, force: true });
});

function attempt(spec: Container) {
  const released: string[] = [];
  const security = {
    allowPrivileged: false,
    seccompRoot: "/nonexistent",
    userNamespaces: { release: async (uid: string) => void released.push(uid) },
    seccompProfiles: {
      defaultSeccompProfile: () => ({ defaultAction: "SCMP_ACT_ERRNO" }),
      localhostProfile: () => ({ defaultAction: "SCMP_ACT_ALLOW" }),
    },
  } as unknown as NodeSecurity;
  const run = fakeRun(podOf({ containers: [spec] }), { security });
  const a = setupOf(run, spec);
  a.image = { config: { user: "" } } as unknown as ResolvedImage;
  a.rootfs = rootfs;
  return { run, a, released };
}

describe("security hook", () => {
  it("decides the container's user from its securityContext for the bundle", async () => {
    const { run, a } = attempt({ name: "main", securityContext: { runAsUser: 1000, runAsGroup: 1000 } });
    await securityHook().prestart!(run, a);
    expect(a.security?.user).toMatchObject({ uid: 1000, gid: 1000 });
    expect(a.security?.seccomp).toEqual({ defaultAction: "SCMP_ACT_ERRNO" });
  });

  it("makes a container the node cannot honour wait as CreateContainerConfigError", async () => {
    const { run, a } = attempt({ name: "main", securityContext: { privileged: true } });
    await expect(securityHook().prestart!(run, a)).rejects.toMatchObject({
      reason: "CreateContainerConfigError",
      message: expect.stringContaining("does not allow privileged containers"),
    });
  });

  it("releases the pod's user namespace range with the pod", async () => {
    const { run, released } = attempt({ name: "main" });
    await securityHook().postrun!(run);
    expect(released).toEqual([run.uid]);
  });
});
