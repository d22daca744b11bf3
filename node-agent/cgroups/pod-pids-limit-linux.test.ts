/**
 * Root test: a real container (kshim, on an overlay rootfs from the image store) runs a fork bomb
 * in a pod cgroup placed the way the agent places it. The pod's pids limit must hold it: the pod
 * cgroup's pids.current stays at most the limit, the bomb's forks fail with EAGAIN, and the host
 * still forks. The bomb is stopped after a few seconds (kshim kill, then every pid left in the pod
 * cgroup), and everything made here is removed even when the test fails.
 *
 * Runs on this host's own hierarchies (v1 on a hybrid host, v2 on a pure one) and, when the hybrid
 * host's cgroup2 mount offers the pids controller, there too with the shim seeing it as its only
 * hierarchy (the `kshim-v2` runtime kind). The container runs on an image-store overlay rootfs.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeBundle } from "../../native/testing/oci-bundle.js";
import {
  isHybrid,
  ociRuntime,
  type RuntimeKind,
  runtimeExec,
  runtimeOk,
  SHIM,
  SHIM_ASAN,
  stateOf,
} from "../../native/testing/oci-runtimes.js";
import { makeScratchDir, removeScratchDir } from "../network/testing/scratch-linux.js";
import { buildBusyboxImage } from "../runtime/images/busybox-image.js";
import { ImageStore } from "../runtime/images/image-store.js";
import { type CgroupHierarchy, ownHierarchies } from "./hierarchies-linux.js";
import { PodCgroups } from "./pod-cgroups.js";

const isRoot = process.getuid?.() === 0;
const LIMIT = 64;
const UNIFIED = "/sys/fs/cgroup/unified";
const unifiedHasPids =
  isHybrid() && readFileSync(join(UNIFIED, "cgroup.controllers"), "utf8").split(/\s+/).includes("pids");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pidsIn(dir: string): number[] {
  try {
    return readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** SIGKILLs every process in `dir` until it is empty (a fork bomb refills it while it lives). */
async function killAllIn(dir: string): Promise<void> {
  for (let round = 0; round < 200; round++) {
    const pids = pidsIn(dir);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await sleep(10);
  }
}

describe.skipIf(!isRoot)("a pod's fork bomb against its pids limit (root)", () => {
  let scratch: string;
  let store: ImageStore;

  beforeAll(async () => {
    if (!existsSync(SHIM)) throw new Error(`${SHIM} is missing: run make -C native (npm run build:native)`);
    scratch = makeScratchDir("kctl-forkbomb");
    store = new ImageStore(join(scratch, "state"));
    const layout = join(scratch, "busybox");
    await buildBusyboxImage(layout);
    await store.importLayout(layout);
  });
  afterAll(() => {
    if (scratch) removeScratchDir(scratch);
  });

  const cases: {
    name: string;
    kind: RuntimeKind;
    skip: boolean;
    hierarchies: () => Promise<CgroupHierarchy[]>;
  }[] = [
    { name: "this host's own hierarchies", kind: "kshim", skip: false, hierarchies: ownHierarchies },
    {
      name: "the hybrid host's cgroup2 mount (kshim-v2)",
      kind: "kshim-v2",
      skip: !unifiedHasPids || !existsSync(SHIM_ASAN),
      hierarchies: async () => (await ownHierarchies()).filter((h) => h.version === 2),
    },
  ];

  for (const c of cases) {
    it.skipIf(c.skip)(
      `holds the bomb at the limit on ${c.name}; the host still forks`,
      async () => {
        const tag = `bomb${process.pid}${c.kind === "kshim" ? "" : "v2"}`;
        const podUID = "forkbomb-uid";
        const id = `${tag}-c`;
        const runtime = ociRuntime(c.kind, join(scratch, `runtime-${c.kind}`));
        const hierarchies = await c.hierarchies();
        const pureV2 = hierarchies.every((h) => h.version === 2);
        // On v2 the agent moves itself into a leaf; a sleep stands in for it in a cgroup of the test's own.
        const own = pureV2 ? join(hierarchies[0]!.ownDir, `kctl-${tag}`) : undefined;
        const standIn = own ? spawn("sleep", ["600"], { stdio: "ignore" }) : undefined;
        let cgroups: PodCgroups | undefined;
        const rootfs = await store.prepareRootfs(id, "busybox");
        try {
          if (own && standIn) {
            await mkdir(own);
            await new Promise((r) => standIn.once("spawn", r));
            writeFileSync(join(own, "cgroup.procs"), String(standIn.pid));
            cgroups = await PodCgroups.place([{ ...hierarchies[0]!, ownDir: own }], tag, {
              pid: standIn.pid!,
              podPidsLimit: LIMIT,
            });
          } else {
            cgroups = await PodCgroups.place(hierarchies, tag, { podPidsLimit: LIMIT });
          }
          const cgroupsPath = cgroups.containerPath(podUID, id);
          const podDir = pureV2
            ? join(cgroups.dirs[0]!, `pod${podUID}`)
            : join(cgroups.dirs.find((d) => d.includes("/pids/"))!, `pod${podUID}`);
          expect(readFileSync(join(podDir, "pids.max"), "utf8").trim()).toBe(String(LIMIT));

          // The classic bomb: each call forks two more forever; pid 1 then just waits.
          const bundle = await writeBundle(join(scratch, "bundles", id), {
            rootfs: rootfs.path,
            args: ["sh", "-c", "bomb() { bomb | bomb & }; bomb 2>/tmp/bomb.err; exec sleep 600"],
            cgroupsPath,
          });
          await runtimeOk(runtime, ["create", "--bundle", bundle, id], scratch);
          try {
            await runtimeOk(runtime, ["start", id], scratch);
            let peak = 0;
            const deadline = Date.now() + 3000;
            while (Date.now() < deadline) {
              peak = Math.max(peak, Number(readFileSync(join(podDir, "pids.current"), "utf8")));
              await sleep(50);
            }
            // The bomb reached the limit and stayed at or under it.
            expect(peak).toBeGreaterThan(LIMIT / 2);
            expect(peak).toBeLessThanOrEqual(LIMIT);
            // Older kernels count the refusal in the forking task's cgroup, newer ones where the limit is.
            const events = [podDir, join(podDir, id)].map((d) =>
              readFileSync(join(d, "pids.events"), "utf8"),
            );
            expect(events.join("")).toMatch(/^max [1-9]/m);
            expect(readFileSync(join(rootfs.path, "tmp", "bomb.err"), "utf8")).toContain(
              "Resource temporarily unavailable",
            );
            // The host is unaffected: it still starts processes, many of them at once.
            const out = execFileSync("sh", ["-c", "for i in $(seq 100); do true & done; wait; echo forked"]);
            expect(out.toString()).toBe("forked\n");
            expect((await stateOf(runtime, id, scratch)).status).toBe("running");
          } finally {
            await runtimeExec(runtime, ["kill", id, "SIGKILL"], scratch);
            await killAllIn(podDir);
            await runtimeExec(runtime, ["delete", "--force", id], scratch);
          }
        } finally {
          await rootfs.release();
          if (cgroups) {
            for (const dir of cgroups.dirs) await killAllIn(join(dir, `pod${podUID}`));
            await cgroups.removePod(podUID).catch(() => undefined);
            for (const dir of cgroups.dirs) await rmdir(dir).catch(() => undefined);
          }
          if (own) {
            if (standIn?.pid) process.kill(standIn.pid, "SIGKILL");
            for (let i = 0; i < 100 && existsSync(join(own, "agent")); i++) {
              await rmdir(join(own, "agent")).catch(() => sleep(20));
            }
            await rmdir(own).catch(() => undefined);
          }
        }
      },
      60_000,
    );
  }
});
