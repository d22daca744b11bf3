/**
 * Pod startup latency benchmark (a script, not a test; needs root). A one-host lab (real control
 * plane, real agent, kshim, the busybox image already present); pods created one at a time through
 * the API while a watch records when each is bound to the node and when it turns Running. Then a
 * burst of pods at once, timed until all run. Beside the latencies it reports the agent's CPU per
 * pod start (its own, and that of the tools and runtime calls it ran and reaped) in each phase, its
 * resident memory before and after the burst, and the machine's load average. Prints and writes
 * .bench/pod-startup.json.
 *
 *   node dist/node-agent/bench/pod-startup-bench.js [pods=40] [burst=100]
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeObject } from "../../controlplane/api/object.js";
import { resourceForKind } from "../../controlplane/api/resources.js";
import { type CpuSeconds, cpuSecondsOf, residentMiB } from "../../controlplane/util/process-usage-linux.js";
import { ApiClient } from "../../kctl/client.js";
import { readConfig } from "../../kctl/config.js";
import { componentsFor } from "../../kctl/lab/components.js";
import { labDown } from "../../kctl/lab/lab-down.js";
import { labContext, labUp } from "../../kctl/lab/lab-up.js";

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

/** The agent's CPU ms per pod between two readings, its own and its reaped children's. */
const cpuMsPerPod = (before: CpuSeconds, after: CpuSeconds, pods: number) => ({
  own: round(((after.own - before.own) * 1000) / pods),
  children: round(((after.children - before.children) * 1000) / pods),
});

function podManifest(name: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "bench" },
    spec: {
      terminationGracePeriodSeconds: 0,
      containers: [{ name: "main", image: "kctl.local/busybox:debian", command: ["sleep", "3600"] }],
    },
  };
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 40);
  const burst = Number(process.argv[3] ?? 100);
  const root = await mkdtemp(join(tmpdir(), "kctl-bench-pods-"));
  const target = { name: "bench", labDir: join(root, "lab"), registryDir: join(root, "registry") };
  const components = componentsFor("all");
  try {
    const state = await labUp({ ...target, nodes: 1, components, readyTimeoutMs: 120_000 });
    const client = new ApiClient(await readConfig(components.clientConfig!(labContext(state))));
    const agentPid = state.processes.find((p) => p.name === state.nodes[0]?.name)?.pid;
    if (!agentPid) throw new Error("the lab has no agent process for its node");
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
      const deadline = performance.now() + 120_000;
      while (names.some((n) => timings.get(n)?.running === undefined)) {
        if (performance.now() > deadline) throw new Error("pods did not reach Running within 120 s");
        await new Promise((r) => setTimeout(r, 5));
      }
    };

    const cpuAtStart = await cpuSecondsOf(agentPid);
    for (let i = 0; i < count; i++) {
      const name = `one-${i}`;
      timings.set(name, { created: performance.now() });
      await client.create(pods, "bench", podManifest(name));
      await waitRunning([name]);
      await client.delete(pods, "bench", name);
    }
    const sequential = [...timings.entries()].filter(([n]) => n.startsWith("one-")).map(([, t]) => t);
    const toRunning = sequential.map((t) => t.running! - t.created);
    const toBound = sequential.map((t) => t.bound! - t.created);
    const boundToRunning = sequential.map((t) => t.running! - t.bound!);

    const cpuAfterSequential = await cpuSecondsOf(agentPid);
    const rssBeforeBurst = await residentMiB(agentPid);
    const burstNames = Array.from({ length: burst }, (_, i) => `burst-${i}`);
    const burstStart = performance.now();
    await Promise.all(
      burstNames.map((name) => {
        timings.set(name, { created: performance.now() });
        return client.create(pods, "bench", podManifest(name));
      }),
    );
    await waitRunning(burstNames);
    const burstMs = performance.now() - burstStart;
    const cpuAfterBurst = await cpuSecondsOf(agentPid);
    const rssAfterBurst = await residentMiB(agentPid);
    abort.abort();
    client.close();
    void watching.catch(() => undefined);

    const result = {
      date: new Date().toISOString(),
      pods: count,
      sequentialMs: {
        createToRunning: { p50: round(quantile(toRunning, 0.5)), p99: round(quantile(toRunning, 0.99)) },
        createToBound: { p50: round(quantile(toBound, 0.5)), p99: round(quantile(toBound, 0.99)) },
        boundToRunning: {
          p50: round(quantile(boundToRunning, 0.5)),
          p99: round(quantile(boundToRunning, 0.99)),
        },
      },
      burst: {
        pods: burst,
        allRunningMs: Math.round(burstMs),
        podsPerSecond: round((burst * 1000) / burstMs),
      },
      // Sequential: each pod's start and its deletion (teardown); burst: the starts only.
      agentCpuMsPerPod: {
        sequential: cpuMsPerPod(cpuAtStart, cpuAfterSequential, count),
        burst: cpuMsPerPod(cpuAfterSequential, cpuAfterBurst, burst),
      },
      agentRssMiB: { beforeBurst: rssBeforeBurst, afterBurst: rssAfterBurst },
      machine: { cpus: cpus().length, loadavg: loadavg().map(round) },
      targets: { p50Ms: 100, p99Ms: 300 },
    };
    await mkdir(".bench", { recursive: true });
    await writeFile(join(".bench", "pod-startup.json"), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await labDown({ ...target, graceMs: 1_000 }).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
  process.exit(0);
}

await main();
