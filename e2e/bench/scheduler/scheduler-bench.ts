/**
 * Scheduler throughput benchmark (a script, not a test): a real control plane in its own process
 * (etcd child, registry, informers, scheduler, binding subresource), N hollow nodes registered over
 * NodeService from this process, then P pods created through the HTTPS API. It measures, per run:
 *  - end to end: P / (last pod bound − first create sent), in pods per second;
 *  - scheduler: pods bound per second in each whole second between the first and last binding
 *    (the median is kube-scheduler's scheduler_perf "SchedulingThroughput Perc50");
 *  - creation-to-bound latency percentiles;
 *  - resident memory (VmRSS) of the control-plane process and of its etcd child: peak and at the end.
 * A pod counts as bound when it arrives at its hollow node over NodeService: after the binding was
 * written, seen through etcd and sent down the node's stream, and without a watcher of the
 * benchmark's own adding to the control plane's load.
 * Writes everything to .bench/scheduler.json and prints medians over runs.
 *
 *   npm run bench:scheduler -- [--nodes 1000,5000] [--pods 10000] [--runs 1] [--out .bench/scheduler.json]
 *     [--create-concurrency 64] [--lease-duration 40] [--register-wave 8] [--profile DIR]
 *
 * `--profile DIR` writes the control plane's V8 CPU profile and each run's pod phase into DIR, for
 * `profile-summary.js`.
 *
 * The hollow nodes behave like agents during the run: they renew leases and report every bound pod
 * Running and Ready, so the control plane carries that load too, as it would with real nodes.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { CallLimiter } from "../../../controlplane/testing/hollow-node.js";
import { issueNodeCertificates, startHollowFleet } from "../../../controlplane/testing/hollow-node-fleet.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import type { KeyPair } from "../../../foundation/pki/pki.js";
import { ensureCa } from "../../../foundation/pki/pki.js";
import { cpuSecondsOf, rssMiB } from "../../../foundation/util/process-usage-linux.js";
import type { Pod } from "../../../proto/gen/api.js";
import { positiveInt } from "../support/bench-args.js";
import { startPlaneProcess } from "../support/plane-process.js";

const pods = resourceForKind("v1", "Pod")!;
const namespaces = resourceForKind("v1", "Namespace")!;
const namespace = "bench";

interface RunResult {
  nodes: number;
  pods: number;
  registerSeconds: number;
  createPodsPerSecond: number;
  endToEndPodsPerSecond: number;
  schedulerPodsPerSecond: { median: number; p10: number; p90: number; seconds: number[] };
  latencyMs: { p50: number; p90: number; p99: number };
  /**
   * CPU seconds each process used from the first create to the last binding, and that as a share of
   * the machine (all cores) over the same time: where the time goes.
   */
  cpuDuringPods: {
    seconds: number;
    controlPlane: number;
    etcd: number;
    benchProcess: number;
    machineShare: number;
  };
  memoryMiB: {
    controlPlaneAfterNodes: number;
    controlPlanePeak: number;
    controlPlaneEnd: number;
    etcdPeak: number;
    benchProcessPeak: number;
  };
}

const { values: args } = parseArgs({
  options: {
    nodes: { type: "string", default: "1000,5000" },
    pods: { type: "string", default: "10000" },
    runs: { type: "string", default: "1" },
    out: { type: "string", default: ".bench/scheduler.json" },
    /**
     * Creates in flight at once. Throughput rises with it (bigger group commits) and so does
     * latency: 64 is a modest burst next to a ReplicaSet's slow-start batches (README).
     */
    "create-concurrency": { type: "string", default: "64" },
    "lease-duration": { type: "string", default: "40" },
    "register-wave": { type: "string", default: "8" },
    /** Writes a V8 CPU profile of the control-plane process into this directory. */
    profile: { type: "string" },
  },
});

const nodeCounts = (args.nodes ?? "").split(",").map((n) => positiveInt("nodes", n));
const podCount = positiveInt("pods", args.pods!);
const runs = positiveInt("runs", args.runs!);
const createConcurrency = positiveInt("create-concurrency", args["create-concurrency"]!);
const leaseDurationSeconds = positiveInt("lease-duration", args["lease-duration"]!);
const registerWave = positiveInt("register-wave", args["register-wave"]!);

/** CPU seconds (user + system) a process has used so far; 0 when it is gone. */
const cpuSeconds = async (pid: number | undefined) => (await cpuSecondsOf(pid)).own;

/** The pid of a direct child of `pid` running `command` (the etcd the control plane spawned). */
async function childPid(pid: number, command: string): Promise<number | undefined> {
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      const m = /^\d+ \((.*)\) \S (\d+)/.exec(stat);
      if (m && Number(m[2]) === pid && m[1] === command) return Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined;
}

async function cpuOf(plane: number | undefined, etcd: number | undefined) {
  const own = process.cpuUsage();
  return {
    plane: await cpuSeconds(plane),
    etcd: await cpuSeconds(etcd),
    bench: (own.user + own.system) / 1e6,
  };
}

/** CLOCK_MONOTONIC in microseconds: the clock of a V8 CPU profile's sample times. */
const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

/**
 * The pod phase's window next to the control plane's profile, so `profile-summary.js` can leave out
 * startup and node registration.
 */
async function recordPodPhase(dir: string, pid: number, startUs: number, endUs: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `pod-phase.${pid}.json`), JSON.stringify({ startUs, endUs }));
}

/**
 * V8 flags of the control-plane process, as kctl/systemd/kctl-server.service sets them: a 32 MiB
 * young generation (semi-space) instead of 16 cut its CPU per pod by ~5% for ~20 MiB (README).
 */
const planeNodeFlags = ["--max-semi-space-size=32"];

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const median = (xs: readonly number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );

function benchPod(i: number): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `p-${i}`, namespace, labels: { app: "bench" } },
    spec: {
      containers: [
        { name: "c", image: "pause:3.9", resources: { requests: { cpu: "10m", memory: "16Mi" } } },
      ],
    },
  } as Pod;
}

async function runOnce(nodes: number, caDir: string, certificates: Map<string, KeyPair>): Promise<RunResult> {
  const plane = await startPlaneProcess({
    caDir,
    prefix: "kctl-sched-bench-",
    options: {
      port: 0,
      listenHost: "127.0.0.1",
      // 5000 /24 blocks do not fit in the default 10.244.0.0/16.
      clusterCidr: "10.0.0.0/8",
      leaseDurationSeconds,
    },
    nodeFlags: [...planeNodeFlags, ...(args.profile ? ["--cpu-prof", "--cpu-prof-dir", args.profile] : [])],
  });
  const { child } = plane;
  const api = plane.client(namespace);
  let fleet: Awaited<ReturnType<typeof startHollowFleet>> | undefined;
  const sent = new Map<string, number>();
  const bound = new Map<string, number>();
  let allBound!: () => void;
  const finished = new Promise<void>((r) => {
    allBound = r;
  });
  // A pod counts as bound when it arrives at its node over NodeService: after the binding, through
  // etcd and the node's stream, with no extra watcher loading the control plane.
  const arrived = (name: string) => {
    if (bound.has(name)) return;
    bound.set(name, performance.now());
    if (bound.size === podCount) allBound();
  };
  const peaks = { plane: 0, etcd: 0, bench: 0 };
  const etcdPid = await childPid(child.pid!, "etcd");
  const sampler = setInterval(() => {
    void Promise.all([rssMiB(child.pid), rssMiB(etcdPid)]).then(([plane, etcd]) => {
      peaks.plane = Math.max(peaks.plane, plane);
      peaks.etcd = Math.max(peaks.etcd, etcd);
      peaks.bench = Math.max(peaks.bench, Math.round(process.memoryUsage.rss() / 2 ** 20));
    });
  }, 500);
  try {
    const registerStart = performance.now();
    fleet = await startHollowFleet({
      stateDir: plane.stateDir,
      nodeServiceAddress: plane.info.nodeServiceAddress,
      nodes,
      prefix: "hollow",
      certificates,
      wave: registerWave,
      callConcurrency: 64,
      behaviour: {
        onPodArrived: (pod) => {
          if (pod.metadata?.namespace === namespace) arrived(pod.metadata.name ?? "");
        },
      },
    });
    for (const [k, v] of fleet.certificates) certificates.set(k, v);
    const registerSeconds = (performance.now() - registerStart) / 1000;
    process.stdout.write(`  ${nodes} hollow nodes registered in ${registerSeconds.toFixed(1)}s\n`);
    const afterNodes = await rssMiB(child.pid);

    await api.create(namespaces, undefined, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: namespace },
    });
    const limiter = new CallLimiter(createConcurrency);
    const cpuBefore = await cpuOf(child.pid, etcdPid);
    const phaseStartUs = monotonicUs();
    const createStart = performance.now();
    await Promise.all(
      Array.from({ length: podCount }, (_, i) =>
        limiter.run(async () => {
          sent.set(`p-${i}`, performance.now());
          await api.create(pods, namespace, benchPod(i));
        }),
      ),
    );
    const createSeconds = (performance.now() - createStart) / 1000;
    process.stdout.write(`  ${podCount} pods created in ${createSeconds.toFixed(1)}s\n`);
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`only ${bound.size} of ${podCount} pods bound after 15 minutes`)),
        900_000,
      ).unref(),
    );
    await Promise.race([finished, timeout]);
    const cpuAfter = await cpuOf(child.pid, etcdPid);
    if (args.profile) {
      // The benchmark's own process too, for a run under `node --cpu-prof --cpu-prof-dir DIR`.
      for (const pid of [child.pid!, process.pid]) {
        await recordPodPhase(args.profile, pid, phaseStartUs, monotonicUs());
      }
    }
    const podSeconds = (performance.now() - createStart) / 1000;
    const end = await rssMiB(child.pid);

    const times = [...bound.values()].sort((a, b) => a - b);
    const first = times[0]!;
    const last = times.at(-1)!;
    const perSecond: number[] = [];
    for (const t of times) {
      const slot = Math.floor((t - first) / 1000);
      perSecond[slot] = (perSecond[slot] ?? 0) + 1;
    }
    // The last second is partial; whole seconds only, as scheduler_perf samples them.
    const whole = perSecond.slice(0, Math.max(1, Math.floor((last - first) / 1000))).map((n) => n ?? 0);
    const sortedWhole = [...whole].sort((a, b) => a - b);
    const latencies = [...bound].map(([name, t]) => t - sent.get(name)!).sort((a, b) => a - b);
    return {
      nodes,
      pods: podCount,
      registerSeconds: round(registerSeconds),
      createPodsPerSecond: round(podCount / createSeconds),
      endToEndPodsPerSecond: round(podCount / ((last - createStart) / 1000)),
      schedulerPodsPerSecond: {
        median: percentile(sortedWhole, 50),
        p10: percentile(sortedWhole, 10),
        p90: percentile(sortedWhole, 90),
        seconds: whole,
      },
      latencyMs: {
        p50: Math.round(percentile(latencies, 50)),
        p90: Math.round(percentile(latencies, 90)),
        p99: Math.round(percentile(latencies, 99)),
      },
      cpuDuringPods: {
        seconds: round(podSeconds),
        controlPlane: round(cpuAfter.plane - cpuBefore.plane),
        etcd: round(cpuAfter.etcd - cpuBefore.etcd),
        benchProcess: round(cpuAfter.bench - cpuBefore.bench),
        machineShare: round(
          (cpuAfter.plane -
            cpuBefore.plane +
            cpuAfter.etcd -
            cpuBefore.etcd +
            cpuAfter.bench -
            cpuBefore.bench) /
            (podSeconds * cpus().length),
        ),
      },
      memoryMiB: {
        controlPlaneAfterNodes: afterNodes,
        controlPlanePeak: Math.max(peaks.plane, end),
        controlPlaneEnd: end,
        etcdPeak: peaks.etcd,
        benchProcessPeak: peaks.bench,
      },
    };
  } finally {
    clearInterval(sampler);
    fleet?.stop();
    api.close();
    await plane.stop();
  }
}

const round = (n: number) => Math.round(n * 10) / 10;

/** Writes every run so far and the medians per node count, so an interrupted benchmark keeps its data. */
async function writeResults(results: readonly RunResult[]) {
  const summary = nodeCounts
    .filter((nodes) => results.some((r) => r.nodes === nodes))
    .map((nodes) => {
      const mine = results.filter((r) => r.nodes === nodes);
      return {
        nodes,
        pods: podCount,
        runs: mine.length,
        endToEndPodsPerSecond: median(mine.map((r) => r.endToEndPodsPerSecond)),
        schedulerPodsPerSecondMedian: median(mine.map((r) => r.schedulerPodsPerSecond.median)),
        createPodsPerSecond: median(mine.map((r) => r.createPodsPerSecond)),
        latencyP50Ms: median(mine.map((r) => r.latencyMs.p50)),
        latencyP99Ms: median(mine.map((r) => r.latencyMs.p99)),
        controlPlaneRssPeakMiB: median(mine.map((r) => r.memoryMiB.controlPlanePeak)),
        etcdRssPeakMiB: median(mine.map((r) => r.memoryMiB.etcdPeak)),
      };
    });
  const out = args.out!;
  await mkdir(dirname(out), { recursive: true });
  await writeFile(
    out,
    `${JSON.stringify(
      {
        benchmark: "scheduler",
        date: new Date().toISOString(),
        machine: { cpus: cpus().length, node: process.version },
        settings: { leaseDurationSeconds, createConcurrency, registerWave },
        summary,
        runs: results,
      },
      null,
      2,
    )}\n`,
  );
  return summary;
}

async function main(): Promise<void> {
  const caDir = await mkdtemp(join(tmpdir(), "kctl-sched-bench-ca-"));
  const results: RunResult[] = [];
  try {
    const ca = await ensureCa(caDir, "kctl-bench-ca");
    // Signed before any run, so registration time measures the control plane, not openssl.
    const signStart = performance.now();
    const names = Array.from({ length: Math.max(...nodeCounts) }, (_, i) => `hollow-${i}`);
    const certificates = await issueNodeCertificates(ca, names);
    process.stdout.write(
      `${names.length} node certificates signed in ${((performance.now() - signStart) / 1000).toFixed(1)}s\n`,
    );
    for (const nodes of nodeCounts) {
      for (let run = 1; run <= runs; run++) {
        process.stdout.write(`scheduler bench: ${nodes} nodes, ${podCount} pods, run ${run}/${runs}\n`);
        const r = await runOnce(nodes, caDir, certificates);
        results.push(r);
        await writeResults(results);
        process.stdout.write(
          `  end to end ${r.endToEndPodsPerSecond} pods/s, scheduler median ${r.schedulerPodsPerSecond.median} pods/s, ` +
            `latency p50 ${r.latencyMs.p50} ms p99 ${r.latencyMs.p99} ms, control plane RSS peak ${r.memoryMiB.controlPlanePeak} MiB\n` +
            `  CPU over ${r.cpuDuringPods.seconds}s of pods: control plane ${r.cpuDuringPods.controlPlane}s, etcd ${r.cpuDuringPods.etcd}s, ` +
            `bench process ${r.cpuDuringPods.benchProcess}s (${Math.round(r.cpuDuringPods.machineShare * 100)}% of the machine)\n`,
        );
      }
    }
  } finally {
    await rm(caDir, { recursive: true, force: true });
  }
  const summary = await writeResults(results);
  process.stdout.write("\nmedians over runs:\n");
  for (const s of summary) {
    process.stdout.write(
      `  ${s.nodes} nodes / ${s.pods} pods: end to end ${s.endToEndPodsPerSecond} pods/s, scheduler ${s.schedulerPodsPerSecondMedian} pods/s, ` +
        `create ${s.createPodsPerSecond} pods/s, latency p50 ${s.latencyP50Ms} ms p99 ${s.latencyP99Ms} ms, ` +
        `control plane RSS peak ${s.controlPlaneRssPeakMiB} MiB, etcd ${s.etcdRssPeakMiB} MiB\n`,
    );
  }
  process.stdout.write(`written to ${args.out}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`scheduler bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
