/**
 * Root test, as an attacker inside a container: Docker's default capabilities include CAP_MKNOD,
 * so a container can make a device node in its root filesystem. The overlay is mounted nodev, so
 * the node is no handle on the host's memory or disks; the devices the runtime makes on its own
 * /dev tmpfs still work.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeBundle } from "../../../native/testing/oci-bundle.js";
import { ociRuntime, runToExit, SHIM } from "../../../native/testing/oci-runtimes.js";
import { type TestCgroupParent, testCgroupParent } from "../../../native/testing/test-cgroups.js";
import { makeScratchDir, removeScratchDir } from "../../network/testing/scratch-linux.js";
import { buildBusyboxImage } from "./busybox-image.js";
import { ImageStore } from "./image-store.js";

describe.skipIf(process.getuid?.() !== 0)("container rootfs is nodev (root)", () => {
  let scratch: string;
  let store: ImageStore;
  let cgroups: TestCgroupParent;

  beforeAll(async () => {
    if (!existsSync(SHIM)) throw new Error(`${SHIM} is missing: run make -C native (npm run build:native)`);
    scratch = makeScratchDir("kctl-nodev");
    cgroups = testCgroupParent(`kctl-nodev-${process.pid}`);
    store = new ImageStore(join(scratch, "state"));
    await buildBusyboxImage(join(scratch, "busybox"));
    await store.importLayout(join(scratch, "busybox"));
  });
  afterAll(() => {
    cgroups?.remove();
    if (scratch) removeScratchDir(scratch);
  });

  it("a device node made in the rootfs cannot be opened; /dev/null still works", async () => {
    const rootfs = await store.prepareRootfs("nodev-c1", "busybox");
    try {
      const bundle = await writeBundle(join(scratch, "bundle"), {
        rootfs: rootfs.path,
        // /dev/mem (1:1): reading it would be reading the host's physical memory.
        args: [
          "sh",
          "-c",
          "echo quiet > /dev/null && mknod /tmp/mem c 1 1 && head -c 1 /tmp/mem; echo rc=$?",
        ],
        cgroupsPath: `${cgroups.path}/nodev-c1`,
      });
      const r = await runToExit(ociRuntime("kshim", join(scratch, "runtime")), bundle, "nodev-c1", scratch);
      // EACCES is the mount's nodev; without it the open reaches the devices cgroup, which answers
      // EPERM where the runtime sets one (v1) and nothing at all where it cannot.
      expect(r.stderr).toMatch(/head: \/tmp\/mem: Permission denied/);
      expect(r.stdout).toBe("rc=1\n");
    } finally {
      await rootfs.release();
    }
  });
});
