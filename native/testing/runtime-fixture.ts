/**
 * The setup shared by the escape-suite test files: a busybox rootfs with the static escape probe
 * (testing/escape-probe.c) at /bin/escape-probe, a cgroup parent beneath this process's cgroup,
 * one state root per runtime, and cleanup of every container, cgroup and temp dir in
 * afterEach/afterAll, even when a test fails. Call it once at the top of a describe block.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll } from "vitest";
import { buildBusyboxRootfs } from "../../node-agent/runtime/images/busybox-rootfs.js";
import { type BundleOptions, writeBundle } from "./oci-bundle.js";
import {
  NATIVE_DIR,
  type OciRuntime,
  ociRuntime,
  type RuntimeKind,
  runtimeExec,
  SHIM,
} from "./oci-runtimes.js";
import { type TestCgroupParent, testCgroupParent } from "./test-cgroups.js";

export const PROBE = "/bin/escape-probe";

export interface RuntimeFixture {
  /** Temp dir of the test file (bundles, state roots, command output). */
  readonly work: string;
  readonly rootfs: string;
  rt(kind: RuntimeKind): OciRuntime;
  newId(label: string): string;
  /** Writes a bundle for id with the fixture's rootfs and a cgroup beneath the test's parent. */
  bundle(id: string, o: Omit<BundleOptions, "rootfs" | "cgroupsPath">): Promise<string>;
  /** Remembers a container for deletion after the test. */
  track(rt: OciRuntime, id: string): void;
}

export function hasCommand(cmd: string): boolean {
  try {
    execFileSync(cmd, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** kshim, its sanitizer build, and crun and runc when installed. */
export const peerRuntimes: RuntimeKind[] = [
  "kshim",
  "kshim-asan",
  ...(["crun", "runc"] as const).filter(hasCommand),
];

export function useRuntimeFixture(name: string): RuntimeFixture {
  const tag = `${name}-${process.pid}-${Date.now().toString(36)}`;
  const runtimes = new Map<RuntimeKind, OciRuntime>();
  const live: { rt: OciRuntime; id: string }[] = [];
  let cgroups: TestCgroupParent | undefined;
  let seq = 0;
  const fixture = {
    work: "",
    rootfs: "",
    rt: (kind: RuntimeKind) => {
      const r = runtimes.get(kind);
      if (r === undefined) throw new Error(`runtime ${kind} is not set up`);
      return r;
    },
    newId: (label: string) => `${tag}-${label}-${seq++}`,
    bundle: async (id: string, o: Omit<BundleOptions, "rootfs" | "cgroupsPath">) => {
      if (cgroups === undefined) throw new Error("fixture used before beforeAll");
      return writeBundle(join(fixture.work, "bundles", id), {
        rootfs: fixture.rootfs,
        cgroupsPath: `${cgroups.path}/${id}`,
        ...o,
      });
    },
    track: (rt: OciRuntime, id: string) => {
      live.push({ rt, id });
    },
  };

  beforeAll(async () => {
    if (!existsSync(SHIM)) throw new Error(`${SHIM} is missing: run make -C native (npm run build:native)`);
    fixture.work = await mkdtemp(join(tmpdir(), `${name}-`));
    fixture.rootfs = join(fixture.work, "rootfs");
    await buildBusyboxRootfs(fixture.rootfs);
    execFileSync("gcc", [
      "-static",
      "-O2",
      "-o",
      join(fixture.rootfs, PROBE),
      join(NATIVE_DIR, "testing/escape-probe.c"),
    ]);
    cgroups = testCgroupParent(tag);
    for (const kind of ["kshim", "kshim-asan", "crun", "runc"] as const) {
      runtimes.set(kind, ociRuntime(kind, join(fixture.work, `state-${kind}`)));
    }
  });

  const deleteLive = async () => {
    for (const { rt, id } of live.splice(0)) await runtimeExec(rt, ["delete", "--force", id], fixture.work);
  };
  afterEach(deleteLive);
  afterAll(async () => {
    await deleteLive();
    cgroups?.remove();
    if (fixture.work !== "") await rm(fixture.work, { recursive: true, force: true });
  });
  return fixture;
}
