/**
 * `npm run bench:shim`: create + start + wait + delete of a /bin/true container (pid, mount, uts,
 * ipc and net namespaces, a memory limit) on the shim, crun and runc, alternating run by run on
 * the same bundle, for three workloads in turn: that container as is, with the RuntimeDefault
 * seccomp profile, and with the profile plus a user namespace (a 65536-id range). The timing loop
 * is native/build/kshim-bench-driver (C, see its header); this script builds the bundles, runs the
 * driver, and prints and writes median and p90 per workload, runtime and phase, the ratio
 * shim/crun per workload, and the machine, to .bench/shim.json. Needs root. BENCH_RUNS sets N
 * (default 100).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, release, tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_CAPS, writeBundle } from "../../../native/testing/oci-bundle.js";
import { testCgroupParent } from "../../../native/testing/test-cgroups.js";
import { buildBusyboxRootfs } from "../../../node-agent/runtime/images/busybox-rootfs.js";
import { defaultSeccompProfile } from "../../../node-agent/runtime/oci/seccomp-default.js";
import { BUILD, DRIVER, PHASES, REPO, runDriver, type Summary, summarize } from "./kshim-driver.js";

interface Workload {
  name: string;
  description: string;
  edit?: (config: Record<string, unknown>) => void;
}

const ID_RANGE = 65536;
const withSeccomp = (config: Record<string, unknown>) => {
  (config.linux as Record<string, unknown>).seccomp = defaultSeccompProfile(DEFAULT_CAPS);
};
const WORKLOADS: Workload[] = [
  { name: "baseline", description: "no seccomp, no user namespace" },
  { name: "seccomp", description: "RuntimeDefault seccomp profile", edit: withSeccomp },
  {
    name: "seccomp+userns",
    description: "RuntimeDefault seccomp profile and a user namespace (65536 ids)",
    edit: (config) => {
      withSeccomp(config);
      const linux = config.linux as Record<string, unknown> & { namespaces: object[] };
      linux.namespaces.push({ type: "user" });
      linux.uidMappings = [{ containerID: 0, hostID: 1_000_000, size: ID_RANGE }];
      linux.gidMappings = [{ containerID: 0, hostID: 1_000_000, size: ID_RANGE }];
    },
  },
];

function available(cmd: string): boolean {
  try {
    execFileSync(cmd, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("bench:shim needs root (namespaces, cgroups)");
  if (!existsSync(DRIVER)) throw new Error(`${DRIVER} is missing: run npm run build:native`);
  const runs = Number(process.env.BENCH_RUNS ?? 100);
  if (!Number.isInteger(runs) || runs <= 0)
    throw new Error(`BENCH_RUNS=${process.env.BENCH_RUNS}: not a positive integer`);
  const runtimes = [`kshim=${join(BUILD, "kshim")}`];
  for (const rt of ["crun", "runc"]) if (available(rt)) runtimes.push(`${rt}=${rt}`);

  const tag = `kshim-bench-${process.pid}`;
  const work = await mkdtemp(join(tmpdir(), "kshim-bench-"));
  // a user namespace's root must traverse the bundle path, as for runc and crun
  await chmod(work, 0o711);
  const cgroups = testCgroupParent(tag);
  const names = runtimes.map((r) => r.split("=")[0]!);
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    kernel: release(),
    loadAverageBefore: loadavg(),
    loadAverageAfter: [] as number[],
  };
  try {
    const rootfs = join(work, "rootfs");
    await buildBusyboxRootfs(rootfs);
    const results: Record<
      string,
      { description: string; milliseconds: Summary; ratioShimToCrun: number | null }
    > = {};
    for (const w of WORKLOADS) {
      // One bundle per workload for all runtimes; each run's container gets its own cgroup.
      const bundle = await writeBundle(join(work, `bundle-${w.name}`), {
        rootfs,
        args: ["/bin/true"],
        cgroupsPath: `${cgroups.path}/c`,
        memoryLimit: 64 * 1024 * 1024,
        ...(w.edit !== undefined ? { edit: w.edit } : {}),
      });
      const state = join(work, `state-${w.name}`);
      await mkdir(state);
      const common = ["--bundle", bundle, "--state", state, "--prefix", `${tag}-${w.name.replace("+", "-")}`];
      await runDriver([...common, "--runs", "3", ...runtimes.map((r) => r.replace("=", "-warmup="))]);
      const summary = summarize(await runDriver([...common, "--runs", String(runs), ...runtimes]), names);
      const crun = summary.crun?.total.median;
      results[w.name] = {
        description: w.description,
        milliseconds: summary,
        ratioShimToCrun: crun !== undefined ? summary.kshim!.total.median / crun : null,
      };
    }
    machine.loadAverageAfter = loadavg();
    const result = {
      date: new Date().toISOString(),
      runs,
      machine,
      workload: "/bin/true; pid+mount+uts+ipc+net namespaces; memory limit 64MiB; create+start+wait+delete",
      workloads: results,
      target: "kshim median <= 0.7 x crun median (with seccomp on)",
    };
    console.log(
      `${machine.cpus} x ${machine.cpuModel}, kernel ${machine.kernel}, load ${machine.loadAverageBefore.map((l) => l.toFixed(1)).join(" ")}`,
    );
    for (const [name, r] of Object.entries(results)) {
      console.log(`\n${name} (${r.description}); ${runs} runs each, alternating`);
      console.log("runtime  phase   median ms   p90 ms");
      for (const [rt, phases] of Object.entries(r.milliseconds)) {
        for (const p of PHASES) {
          const { median, p90 } = phases[p];
          console.log(
            `${rt.padEnd(8)} ${p.padEnd(7)} ${median.toFixed(2).padStart(9)} ${p90.toFixed(2).padStart(8)}`,
          );
        }
      }
      if (r.ratioShimToCrun !== null)
        console.log(`ratio kshim/crun (median total): ${r.ratioShimToCrun.toFixed(2)} (target <= 0.70)`);
    }
    await mkdir(join(REPO, ".bench"), { recursive: true });
    await writeFile(join(REPO, ".bench/shim.json"), `${JSON.stringify(result, null, 2)}\n`);
    console.log(`written to ${join(REPO, ".bench/shim.json")}`);
  } finally {
    cgroups.remove();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
