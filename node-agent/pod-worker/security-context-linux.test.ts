/**
 * The security context on a real container: bundles written by the agent's own code
 * (containerSecurity + writeContainerBundle) run by kshim, and what the process inside sees.
 * Needs root (namespaces, cgroups, netns) and gcc (a setuid helper); everything made here is
 * removed in afterAll even when a test fails.
 */
import { execFileSync } from "node:child_process";
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ociRuntime, runToExit } from "../../native/testing/oci-runtimes.js";
import { type TestCgroupParent, testCgroupParent } from "../../native/testing/test-cgroups.js";
import type { Pod, SecurityContext } from "../../proto/gen/api.js";
import { buildBusyboxRootfs } from "../runtime/images/busybox-rootfs.js";
import { type BindMount, writeContainerBundle } from "../runtime/oci/container-config.js";
import { nodeSeccompProfiles } from "../runtime/oci/seccomp-default.js";
import { containerSecurity } from "./security-context.js";
import { UserNamespaceRanges } from "./userns-ranges.js";

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("security-context-linux.test.ts: SKIPPED, needs root (namespaces, cgroups, netns)");

// Calls setuid(0) and reports what it got: an attacker's way up if the process may gain privileges.
const SETUID_HELPER = `#include <stdio.h>
#include <unistd.h>
int main(void) {
  int r = setuid(0);
  printf("setuid=%d euid=%d uid=%d\\n", r, (int)geteuid(), (int)getuid());
  return 0;
}
`;

describe.skipIf(!isRoot)("securityContext on a kshim container", () => {
  let tmp: string;
  let rootfs: string;
  let cgroups: TestCgroupParent;
  const netns = `secctx-${process.pid}`;
  let seq = 0;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "secctx-"));
    rootfs = join(tmp, "rootfs");
    await buildBusyboxRootfs(rootfs);
    await writeFile(join(tmp, "setuid0.c"), SETUID_HELPER);
    execFileSync("gcc", ["-static", "-o", join(tmp, "setuid0"), join(tmp, "setuid0.c")]);
    // Owned by root (the test runs as root), mode 4755: a setuid-root binary shipped in the image.
    await copyFile(join(tmp, "setuid0"), join(rootfs, "bin/setuid0"));
    await chmod(join(rootfs, "bin/setuid0"), 0o4755);
    cgroups = testCgroupParent(`secctx-${process.pid}`);
    execFileSync("ip", ["netns", "add", netns]);
  }, 60_000);

  afterAll(async () => {
    cgroups?.remove();
    execFileSync("ip", ["netns", "del", netns], { stdio: "ignore" });
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  /** Runs `script` in a container of a pod with this context and image USER; returns its output. */
  async function run(
    imageUser: string,
    sc: SecurityContext | undefined,
    script: string,
    mounts: BindMount[] = [],
  ) {
    const id = `secctx-${process.pid}-${++seq}`;
    const container = { name: "c", image: "test", ...(sc ? { securityContext: sc } : {}) };
    const pod: Pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", namespace: "default", uid: "uid-1" },
      spec: { containers: [container] },
    };
    const security = await containerSecurity(pod, container, imageUser, rootfs, {
      allowPrivileged: false,
      seccompRoot: join(tmp, "seccomp"),
      userNamespaces: new UserNamespaceRanges(tmp),
      seccompProfiles: nodeSeccompProfiles,
    });
    const bundle = await writeContainerBundle(join(tmp, "bundles", id), {
      rootfs,
      args: ["sh", "-c", script],
      env: ["PATH=/bin"],
      cwd: "/",
      hostname: "p",
      netnsPath: `/run/netns/${netns}`,
      cgroupsPath: `${cgroups.path}/${id}`,
      logPath: join(tmp, `${id}.log`),
      mounts,
      security,
    });
    return runToExit(ociRuntime("kshim", join(tmp, "state")), bundle, id, tmp);
  }

  it("runAsUser 1000, read-only root, drop ALL, no privilege escalation", async () => {
    // The pod's files and a writable volume at paths the image lacks, as the pod worker mounts them.
    await writeFile(join(tmp, "hostname"), "p\n");
    await mkdir(join(tmp, "volume"));
    await chmod(join(tmp, "volume"), 0o777);
    const mounts = [
      { source: join(tmp, "hostname"), destination: "/etc/hostname" },
      { source: join(tmp, "volume"), destination: "/data/cache" },
    ];
    const r = await run(
      "",
      {
        runAsUser: 1000,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
        allowPrivilegeEscalation: false,
      },
      "id; touch /written && echo wrote / || echo cannot write /; grep -E '^(NoNewPrivs|CapEff|CapBnd):' /proc/self/status; touch /data/cache/ok && echo volume writable",
      mounts,
    );
    expect(r.exitCode).toBe(0);
    const out = r.stdout.split("\n");
    expect(out[0]).toMatch(/^uid=1000 gid=0\(root\)/);
    expect(r.stdout).toContain("cannot write /");
    expect(r.stderr).toContain("Read-only file system");
    expect(out).toContain("NoNewPrivs:\t1");
    expect(out).toContain("CapEff:\t0000000000000000");
    expect(out).toContain("CapBnd:\t0000000000000000");
    expect(out).toContain("volume writable");
  }, 30_000);

  it("an image USER 1000 stays non-root: su refuses, a setuid-root helper gets nothing", async () => {
    // No securityContext at all: the image's USER alone decides, and busybox su needs root to work.
    const plain = await run("1000", undefined, "su -c 'id -u' root; id -u");
    expect(plain.stdout.trim().split("\n").pop()).toBe("1000");
    expect(plain.stderr).toContain("su: must be suid to work properly");
    expect(plain.stdout).not.toMatch(/^0$/m);
    // With allowPrivilegeEscalation false the setuid bit of a binary in the image is ignored.
    const helper = await run("1000", { allowPrivilegeEscalation: false }, "setuid0; id -u");
    expect(helper.stdout).toContain("setuid=-1 euid=1000 uid=1000");
    expect(helper.stdout.trim().split("\n").pop()).toBe("1000");
  }, 30_000);
});
