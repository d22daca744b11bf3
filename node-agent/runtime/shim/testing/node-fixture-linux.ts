/**
 * A throwaway node for root tests of the runtime driver and the pod worker: a scratch dir holding
 * the state (images, netns files, pod dirs, runtime roots), a network namespace standing in for the
 * host's (so the machine's own network is never touched), the busybox image imported, and a cgroup
 * parent beneath this process's cgroup. `cleanup()` deletes every container the runtime still knows,
 * removes the cgroups, tears down sandboxes and unmounts everything, even after a failed test.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { testCgroupParent } from "../../../../native/testing/test-cgroups.js";
import { PodNetwork } from "../../../network/index.js";
import { makeNetns, makeScratchDir, removeScratchDir } from "../../../network/testing/scratch-linux.js";
import { buildBusyboxImage, ImageStore } from "../../images/index.js";
import { OciRuntimeDriver } from "../runtime-driver.js";

export const KSHIM = new URL("../../../../native/build/kshim", import.meta.url).pathname;

export interface NodeFixture {
  scratch: string;
  stateDir: string;
  hostNetns: string;
  images: ImageStore;
  network: PodNetwork;
  cgroupParent: string;
  /** A driver for `binary` with its own root under the scratch dir. */
  driver(binary: string): OciRuntimeDriver;
  cleanup(): Promise<void>;
}

export async function makeNodeFixture(name: string, podCIDR = "10.244.7.0/24"): Promise<NodeFixture> {
  const scratch = makeScratchDir(`kctl-${name}`);
  const stateDir = join(scratch, "state");
  const hostNetns = makeNetns(join(scratch, "host"));
  const images = new ImageStore(stateDir);
  const network = new PodNetwork({ stateDir, podCIDR, hostNetns, dns: { nameservers: ["10.96.0.10"] } });
  const cgroups = testCgroupParent(`kctl-test-${name}-${process.pid}`);
  const drivers: OciRuntimeDriver[] = [];
  const layout = join(scratch, "busybox-layout");
  await buildBusyboxImage(layout);
  await images.importLayout(layout, { name: "busybox" });
  return {
    scratch,
    stateDir,
    hostNetns,
    images,
    network,
    cgroupParent: cgroups.path,
    driver(binary) {
      const d = new OciRuntimeDriver({ binary, root: join(scratch, `runtime-${drivers.length}`) });
      drivers.push(d);
      return d;
    },
    async cleanup() {
      for (const d of drivers) {
        for (const id of existsSync(d.root) ? readdirSync(d.root) : []) {
          await d.delete(id).catch(() => undefined);
        }
      }
      // Kills whatever a failed test left in its cgroups, removes them and the ancestors made for them.
      cgroups.remove();
      for (const uid of await network.listSandboxes())
        await network.teardownSandbox(uid).catch(() => undefined);
      removeScratchDir(scratch);
    },
  };
}
