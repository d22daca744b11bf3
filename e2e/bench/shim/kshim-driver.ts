/**
 * The native timing loop of the shim benchmarks (native/build/kshim-bench-driver, see its header):
 * running it, its per-run samples, their medians; and kshim's own create + start of the baseline
 * container, which the pod benchmark sets its latencies against.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeBundle } from "../../../native/testing/oci-bundle.js";
import { testCgroupParent } from "../../../native/testing/test-cgroups.js";
import { buildBusyboxRootfs } from "../../../node-agent/runtime/images/busybox-rootfs.js";

export const REPO = fileURLToPath(new URL("../../../../", import.meta.url));
export const BUILD = join(REPO, "native/build");
export const DRIVER = join(BUILD, "kshim-bench-driver");
export const PHASES = ["create", "start", "wait", "delete", "total"] as const;
export type Phase = (typeof PHASES)[number];
export type Sample = { runtime: string; run: number } & Record<Phase, number>;
export type Summary = Record<string, Record<Phase, { median: number; p90: number }>>;

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, i)]!;
}

export function summarize(samples: Sample[], names: string[]): Summary {
  const summary: Summary = {};
  for (const rt of names) {
    const mine = samples.filter((s) => s.runtime === rt);
    summary[rt] = Object.fromEntries(
      PHASES.map((p) => {
        const sorted = mine.map((s) => s[p]).sort((a, b) => a - b);
        return [p, { median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9) }];
      }),
    ) as Record<Phase, { median: number; p90: number }>;
  }
  return summary;
}

/** Runs the driver with `args` and returns its samples, one per run and runtime. */
export async function runDriver(args: string[]): Promise<Sample[]> {
  if (!existsSync(DRIVER)) throw new Error(`${DRIVER} is missing: run npm run build:native`);
  const child = spawn(DRIVER, args, { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (d: string) => {
    out += d;
  });
  const code = await new Promise<number>((resolve) => child.on("exit", (c) => resolve(c ?? 1)));
  if (code !== 0) throw new Error(`kshim-bench-driver exited ${code}`);
  return out
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Sample);
}

/**
 * kshim's create and start of a `/bin/true` container (pid, mount, uts, ipc and net namespaces, a
 * memory limit; no seccomp), median ms of `runs` runs after 3 for warm-up. Needs root.
 */
export async function kshimCreateStart(
  runs: number,
): Promise<{ create: number; start: number; runs: number }> {
  const tag = `kshim-cs-${process.pid}`;
  const work = await mkdtemp(join(tmpdir(), "kshim-cs-"));
  const cgroups = testCgroupParent(tag);
  try {
    const rootfs = join(work, "rootfs");
    await buildBusyboxRootfs(rootfs);
    const bundle = await writeBundle(join(work, "bundle"), {
      rootfs,
      args: ["/bin/true"],
      cgroupsPath: `${cgroups.path}/c`,
      memoryLimit: 64 * 1024 * 1024,
    });
    const state = join(work, "state");
    await mkdir(state);
    const kshim = join(BUILD, "kshim");
    const common = ["--bundle", bundle, "--state", state, "--prefix", tag];
    await runDriver([...common, "--runs", "3", `kshim-warmup=${kshim}`]);
    const ms = summarize(await runDriver([...common, "--runs", String(runs), `kshim=${kshim}`]), ["kshim"])
      .kshim!;
    return { create: ms.create.median, start: ms.start.median, runs };
  } finally {
    cgroups.remove();
    await rm(work, { recursive: true, force: true });
  }
}
