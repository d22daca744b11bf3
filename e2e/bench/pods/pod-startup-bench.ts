/**
 * Pod startup benchmark (a script, not a test; needs root), every row the agent README reports, in
 * one run. First the floors the targets are set against: kshim's own create + start of a container
 * and the network sandbox's setup alone. Then a lab of 3 hosts (real control plane, real agents,
 * kshim, the busybox image already present). On the first host: pods created one at a time through
 * the API (each deleted and torn down before the next) while a watch records when each is bound to
 * the node and when it turns Running; then 10 pods (the agent's resident memory with them); then a
 * burst of pods at once, timed until all run. Then a burst across the 3 hosts.
 * For the pods one at a time and the burst on one host, the agent's own account of each start: its
 * mean ms per stage (each hook's stages, the runtime's create, the status reports) from its
 * kctl_pod_start_stage_duration_seconds histogram, and what no stage covers; and the three slowest
 * of the pods one at a time as their agent traced them (KCTL_TRACE=pod-start), where the p99 went.
 * Beside the latencies it reports the first host's agent CPU per pod start (its own, that of the
 * tools and runtime calls it ran and reaped, and the rest of its cgroup: container monitors and
 * containers) in each phase, its resident memory, where the lab's CPU went in the 3-host burst
 * (every component: control plane, etcd, each agent; see support/lab-cpu.ts) with the machine's
 * busy time beside it, and the load average. Prints and writes .bench/pod-startup.json.
 *
 *   node dist/e2e/bench/pods/pod-startup-bench.js [pods=40] [burst=100] [labBurst=300]
 *
 * The 3-host burst's start and end on the monotonic clock (`labBurst.monotonicUs`) cut a profile
 * of the lab's processes (support/cpu-profile.ts) to that burst.
 */
import { execFile } from "node:child_process";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { KubeObject } from "../../../foundation/api/object.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import { type CpuSeconds, cpuSecondsOf, residentMiB } from "../../../foundation/util/process-usage-linux.js";
import { ApiClient } from "../../../kctl/client.js";
import { readConfig } from "../../../kctl/config.js";
import { AGENT_METRICS_PORT } from "../../../kctl/lab/components.js";
import { timeSandboxes } from "../../../node-agent/network/testing/sandbox-timing.js";
import { kshimCreateStart } from "../shim/kshim-driver.js";
import { withBenchLab } from "../support/bench-lab.js";
import { labCpu, labCpuMsPerPod, machineBusySeconds } from "../support/lab-cpu.js";

const run = promisify(execFile);
const pods = resourceForKind("v1", "Pod")!;
const namespaces = resourceForKind("v1", "Namespace")!;

interface Timing {
  created: number;
  bound?: number;
  running?: number;
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};
const round = (x: number) => Math.round(x * 10) / 10;
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

/** The agent's CPU ms per pod between two readings, its own and its reaped children's. */
const cpuMsPerPod = (before: CpuSeconds, after: CpuSeconds, pods: number) => ({
  own: round(((after.own - before.own) * 1000) / pods),
  children: round(((after.children - before.children) * 1000) / pods),
});

/** Runs of kshim's create + start, and pods of the sandbox timing, before the lab. */
const SHIM_RUNS = 30;
const SANDBOX_PODS = 30;

/** The Prometheus metrics of the agent in the host namespace `ns`, as scraped. */
async function agentMetrics(ns: string): Promise<string> {
  const { stdout } = await run("ip", [
    "netns",
    "exec",
    ns,
    "busybox",
    "wget",
    "-qO-",
    `http://127.0.0.1:${AGENT_METRICS_PORT}/metrics`,
  ]);
  return stdout;
}

/**
 * The V8 heap (used, reserved) and Buffers' memory of the agent in the host namespace `ns`, in MiB,
 * from its Prometheus metrics (Node's own figures, as `process.memoryUsage()` gives them).
 */
async function agentHeapMiB(ns: string): Promise<{ used: number; total: number; external: number }> {
  const stdout = await agentMetrics(ns);
  const mib = (name: string) =>
    round(Number(new RegExp(`^${name} (\\S+)`, "m").exec(stdout)?.[1] ?? Number.NaN) / 1048576);
  return {
    used: mib("nodejs_heap_size_used_bytes"),
    total: mib("nodejs_heap_size_total_bytes"),
    external: mib("nodejs_external_memory_bytes"),
  };
}

/** A histogram's `_sum` and `_count` per value of `label`, from a scrape. */
function histogramTotals(
  text: string,
  name: string,
  label: string,
): Map<string, { sum: number; count: number }> {
  const totals = new Map<string, { sum: number; count: number }>();
  const line = new RegExp(`^${name}_(sum|count)\\{(?:[^}]*,)?${label}="([^"]*)"[^}]*\\} (\\S+)$`, "gm");
  for (const [, field, value, n] of text.matchAll(line)) {
    const t = totals.get(value!) ?? { sum: 0, count: 0 };
    t[field as "sum" | "count"] = Number(n);
    totals.set(value!, t);
  }
  return totals;
}

/**
 * The agent's mean ms per pod start in each stage between two scrapes (kctl_pod_start_stage_*),
 * with its own mean from receiving a pod to its Running status reported and what no stage covers,
 * largest stage first.
 */
function startStagesMs(before: string, after: string): Record<string, number> {
  const delta = (name: string, label: string) => {
    const was = histogramTotals(before, name, label);
    return [...histogramTotals(after, name, label)].map(([key, t]) => {
      const old = was.get(key) ?? { sum: 0, count: 0 };
      return [key, { sum: t.sum - old.sum, count: t.count - old.count }] as const;
    });
  };
  const meanMs = (t: { sum: number; count: number }) => (t.count ? (t.sum * 1000) / t.count : 0);
  const stages = delta("kctl_pod_start_stage_duration_seconds", "stage")
    .filter(([, t]) => t.count > 0)
    .map(([stage, t]) => [stage, meanMs(t)] as const)
    .sort((a, b) => b[1] - a[1]);
  const received = delta("kctl_pod_start_duration_seconds", "to").find(([to]) => to === "running")?.[1];
  // The start latency ends when the Running status is made; its report is the stage after.
  const reported =
    (received ? meanMs(received) : Number.NaN) + (stages.find(([s]) => s === "report")?.[1] ?? 0);
  const staged = stages.reduce((sum, [, ms]) => sum + ms, 0);
  return {
    receivedToReported: round(reported),
    ...Object.fromEntries(stages.map(([stage, ms]) => [stage, round(ms)])),
    inNoStage: round(reported - staged),
  };
}

/**
 * Each pod's stages as its agent traced them (`KCTL_TRACE=pod-start`, in the agent's log), by pod
 * uid: received → Running reported (`total`) and ms per stage.
 */
async function tracedStarts(logFile: string): Promise<Map<string, Record<string, number>>> {
  const starts = new Map<string, Record<string, number>>();
  for (const line of (await readFile(logFile, "utf8")).split("\n")) {
    const m = /\[pod-start\] stages "([^"]+)" (\{.*\})$/.exec(line);
    if (m) starts.set(m[1]!, JSON.parse(m[2]!) as Record<string, number>);
  }
  return starts;
}

/** The slowest starts' own accounts, slowest first: the time outside the agent and its stages. */
function slowestStarts(
  timed: { name: string; uid: string; timing: Timing }[],
  traced: Map<string, Record<string, number>>,
  n: number,
) {
  return [...timed]
    .sort((a, b) => b.timing.running! - b.timing.created - (a.timing.running! - a.timing.created))
    .slice(0, n)
    .map(({ name, uid, timing }) => {
      const { total = Number.NaN, ...stages } = traced.get(uid) ?? {};
      const largest = Object.entries(stages)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5);
      return {
        pod: name,
        createToRunningMs: round(timing.running! - timing.created),
        createToBoundMs: round(timing.bound! - timing.created),
        agentReceivedToReportedMs: total,
        largestStagesMs: Object.fromEntries(largest),
      };
    });
}

/** A pod that sleeps; on `node` when given (by its hostname label), else wherever it is scheduled. */
function podManifest(name: string, node?: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "bench" },
    spec: {
      terminationGracePeriodSeconds: 0,
      ...(node ? { nodeSelector: { "kubernetes.io/hostname": node } } : {}),
      containers: [{ name: "main", image: "kctl.local/busybox:debian", command: ["sleep", "3600"] }],
    },
  };
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 40);
  const burst = Number(process.argv[3] ?? 100);
  const labBurst = Number(process.argv[4] ?? 300);
  const loadAtStart = loadavg().map(round);
  // The lab's agents inherit it: each traces its pods' stages to its log (read for the slowest).
  process.env.KCTL_TRACE = [process.env.KCTL_TRACE, "pod-start"].filter(Boolean).join(",");
  const shim = await kshimCreateStart(SHIM_RUNS);
  const sandbox = await timeSandboxes(SANDBOX_PODS);
  await withBenchLab({ name: "pods", hosts: 3 }, async ({ state, clientConfig }) => {
    const client = new ApiClient(await readConfig(clientConfig));
    const host = state.nodes[0]?.name ?? "";
    const hostNamespace = state.nodes[0]?.namespace ?? "";
    const agentPid = state.processes.find((p) => p.name === host)?.pid;
    if (!agentPid) throw new Error(`the lab has no agent process for its node ${host}`);
    await client.create(namespaces, undefined, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "bench" },
    });
    const timings = new Map<string, Timing>();
    const abort = new AbortController();
    const watching = (async () => {
      for await (const e of client.watch(pods, "bench", { resourceVersion: "0" })) {
        const p = e.object as KubeObject & { spec?: { nodeName?: string }; status?: { phase?: string } };
        const t = timings.get(p.metadata.name ?? "");
        if (!t) continue;
        const now = performance.now();
        if (p.spec?.nodeName && t.bound === undefined) t.bound = now;
        if (p.status?.phase === "Running" && t.running === undefined) t.running = now;
        if (abort.signal.aborted) return;
      }
    })();
    const waitRunning = async (names: string[]) => {
      const deadline = performance.now() + 300_000;
      while (names.some((n) => timings.get(n)?.running === undefined)) {
        if (performance.now() > deadline) throw new Error("pods did not reach Running within 300 s");
        await new Promise((r) => setTimeout(r, 5));
      }
    };

    // A pod's sandbox goes last of its teardown (the hooks unwind in reverse): no netns file left on
    // any host means every agent is done with the pods it stopped.
    const agentNetnsDirs = state.nodes.map(
      (n) => `${state.processes.find((p) => p.name === n.name)?.stateDir}/netns`,
    );
    const sandboxesLeft = async () =>
      (await Promise.all(agentNetnsDirs.map((d) => readdir(d).catch(() => [])))).flat().length;
    /** Waits until the namespace has no pod and every agent has torn its pods down. */
    const tornDown = async () => {
      const deadline = performance.now() + 300_000;
      while ((await client.list(pods, "bench")).items.length > 0 || (await sandboxesLeft()) > 0) {
        if (performance.now() > deadline) throw new Error("deleted pods were not torn down within 300 s");
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    /** Deletes the pods and waits until they are torn down, so that the next phase's CPU is its own. */
    const deleteAll = async (names: string[]) => {
      await Promise.all(names.map((name) => client.delete(pods, "bench", name)));
      await tornDown();
    };

    const cpuAtStart = await cpuSecondsOf(agentPid);
    const metricsAtStart = await agentMetrics(hostNamespace);
    // One at a time: each pod starts with nothing else in flight, its predecessor torn down.
    const onePods: { name: string; uid: string; timing: Timing }[] = [];
    for (let i = 0; i < count; i++) {
      const name = `one-${i}`;
      const timing: Timing = { created: performance.now() };
      timings.set(name, timing);
      const created = await client.create(pods, "bench", podManifest(name, host));
      onePods.push({ name, uid: created.metadata.uid ?? "", timing });
      await waitRunning([name]);
      await deleteAll([name]);
    }
    const sequentialStages = startStagesMs(metricsAtStart, await agentMetrics(hostNamespace));
    const agentLog = state.processes.find((p) => p.name === host)?.logFile ?? "";
    const slowest = slowestStarts(onePods, await tracedStarts(agentLog), 3);
    const sequential = onePods.map((p) => p.timing);
    const toRunning = sequential.map((t) => t.running! - t.created);
    const toBound = sequential.map((t) => t.bound! - t.created);
    const boundToRunning = sequential.map((t) => t.running! - t.bound!);

    const cpuAfterSequential = await cpuSecondsOf(agentPid);
    const rssBeforeBurst = await residentMiB(agentPid);
    const heapBeforeBurst = await agentHeapMiB(hostNamespace);
    const namesOf = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
    /** Creates `n` pods named `prefix-i` at once and resolves with the ms until all run. */
    const timedBurst = async (prefix: string, n: number, node?: string) => {
      const names = namesOf(prefix, n);
      const start = performance.now();
      await Promise.all(
        names.map((name) => {
          timings.set(name, { created: performance.now() });
          return client.create(pods, "bench", podManifest(name, node));
        }),
      );
      await waitRunning(names);
      return performance.now() - start;
    };
    await timedBurst("ten", 10, host);
    const rssWith10Pods = await residentMiB(agentPid);
    const heapWith10Pods = await agentHeapMiB(hostNamespace);
    await deleteAll(namesOf("ten", 10));
    const cpuBeforeBurst = await cpuSecondsOf(agentPid);
    const labCpuBeforeHostBurst = await labCpu(state);
    const metricsBeforeBurst = await agentMetrics(hostNamespace);
    const burstMs = await timedBurst("burst", burst, host);
    const burstStages = startStagesMs(metricsBeforeBurst, await agentMetrics(hostNamespace));
    const cpuAfterBurst = await cpuSecondsOf(agentPid);
    const labCpuAfterHostBurst = await labCpu(state);
    const rssAfterBurst = await residentMiB(agentPid);
    const heapAfterBurst = await agentHeapMiB(hostNamespace);
    const loadAfterBurst = loadavg().map(round);
    // A node runs at most 110 pods (maxPods): the first burst goes before the lab-wide one.
    await deleteAll(namesOf("burst", burst));
    const labCpuBefore = await labCpu(state);
    const busyBefore = await machineBusySeconds();
    const labStartUs = monotonicUs();
    const labBurstMs = await timedBurst("lab", labBurst);
    const labEndUs = monotonicUs();
    const busy = (await machineBusySeconds()) - busyBefore;
    const labCpuAfter = await labCpu(state);
    const agentsRss = Object.fromEntries(
      await Promise.all(
        state.nodes.map(
          async (n) =>
            [n.name, await residentMiB(state.processes.find((p) => p.name === n.name)?.pid)] as const,
        ),
      ),
    );
    abort.abort();
    client.close();
    void watching.catch(() => undefined);

    const shimMs = shim.create + shim.start;
    const p50 = round(quantile(toRunning, 0.5));
    const p99 = round(quantile(toRunning, 0.99));
    const result = {
      date: new Date().toISOString(),
      pods: count,
      shimCreateStartMs: { create: round(shim.create), start: round(shim.start), runs: shim.runs },
      sandboxAlone: sandbox,
      sequentialMs: {
        createToRunning: {
          p50,
          p99,
          p50OverShim: round(p50 / shimMs),
          p99OverShim: round(p99 / shimMs),
        },
        createToBound: { p50: round(quantile(toBound, 0.5)), p99: round(quantile(toBound, 0.99)) },
        boundToRunning: {
          p50: round(quantile(boundToRunning, 0.5)),
          p99: round(quantile(boundToRunning, 0.99)),
          mean: round(boundToRunning.reduce((a, b) => a + b, 0) / boundToRunning.length),
        },
        // The agent's own account of the same starts: mean ms per stage (kctl_pod_start_stage_*).
        agentStagesMeanMs: sequentialStages,
        // The three slowest starts (the p99's), each as its agent traced it.
        slowest,
      },
      burst: {
        pods: burst,
        allRunningMs: Math.round(burstMs),
        podsPerSecond: round((burst * 1000) / burstMs),
        // Mean ms per pod in each stage: in a burst they include waiting for the start bound.
        agentStagesMeanMs: burstStages,
      },
      labBurst: {
        hosts: state.nodes.length,
        pods: labBurst,
        allRunningMs: Math.round(labBurstMs),
        podsPerSecond: round((labBurst * 1000) / labBurstMs),
        // Every lab process's CPU in the burst, per pod started; the machine's busy time beside it
        // (the lab's share of it is what other work left the lab).
        cpuMsPerPod: labCpuMsPerPod(labCpuBefore, labCpuAfter, labBurst),
        machineBusyMsPerPod: round((busy * 1000) / labBurst),
        machineBusyCores: round((busy * 1000) / labBurstMs),
        agentsRssMiB: agentsRss,
        monotonicUs: [labStartUs, labEndUs],
      },
      // Sequential: each pod's start and its deletion (teardown); burst: the starts only.
      agentCpuMsPerPod: {
        sequential: cpuMsPerPod(cpuAtStart, cpuAfterSequential, count),
        burst: cpuMsPerPod(cpuBeforeBurst, cpuAfterBurst, burst),
      },
      // The burst of 100 on one host: every lab process's CPU per pod (the first host's agent
      // subtree: `other` is its containers' monitors and containers).
      hostBurstCpuMsPerPod: labCpuMsPerPod(labCpuBeforeHostBurst, labCpuAfterHostBurst, burst),
      agentRssMiB: { noPods: rssBeforeBurst, with10Pods: rssWith10Pods, afterBurst: rssAfterBurst },
      // What of the heaps is V8's (used and reserved) and Buffers', from the agent's own metrics.
      agentHeapMiB: { noPods: heapBeforeBurst, with10Pods: heapWith10Pods, afterBurst: heapAfterBurst },
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? "unknown",
        loadavg: { atStart: loadAtStart, afterHostBurst: loadAfterBurst, atEnd: loadavg().map(round) },
      },
      targets: {
        p50OverShim: 2.5,
        p99OverShim: 4,
        burstAllRunningMs: 3000,
        labBurstAllRunningMs: 4000,
        agentCpuMsPerPod: 40,
        agentRssMiBWith10Pods: 60,
      },
    };
    await mkdir(".bench", { recursive: true });
    await writeFile(join(".bench", "pod-startup.json"), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  });
  process.exit(0);
}

await main();
