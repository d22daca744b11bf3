import { mkdir, readFile, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import type { KubeObject } from "../../../foundation/api/object.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import { ApiClient } from "../../../kctl/client.js";
import { readConfig } from "../../../kctl/config.js";
import type { LabState } from "../../../kctl/lab/lab-state.js";
import { latencySummary, RuleMonitor } from "../proxy/rule-monitor.js";
import { withBenchLab } from "../support/bench-lab.js";

const { values: flags } = parseArgs({
  options: { hosts: { type: "string", default: "5" }, changes: { type: "string", default: "200" } },
});

function count(flag: keyof typeof flags, min: number): number {
  const text = flags[flag]!;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`--${flag}: expected an integer of at least ${min}, got "${text}"`);
  return n;
}

const args = { hosts: count("hosts", 1), changes: count("changes", 1) };
const NAMESPACE = "bench";
const POLICY = "probe";
/** Admitted by the policy only: nothing ever sends from these. */
const blockOf = (i: number) => `10.251.${Math.floor(i / 250)}.${(i % 250) + 1}`;
const CHANGE_TIMEOUT_MS = 10_000;

const namespaces = resourceForKind("v1", "Namespace")!;
const pods = resourceForKind("v1", "Pod")!;
const policies = resourceForKind("networking.k8s.io/v1", "NetworkPolicy")!;

function policyOf(block: string): object {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: POLICY, namespace: NAMESPACE },
    spec: {
      podSelector: { matchLabels: { app: "bench" } },
      ingress: [{ from: [{ ipBlock: { cidr: `${block}/32` } }] }],
    },
  };
}

function podOn(node: string): object {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `bench-${node}`, namespace: NAMESPACE, labels: { app: "bench" } },
    spec: {
      nodeName: node,
      terminationGracePeriodSeconds: 0,
      containers: [{ name: "sleep", image: "kctl.local/busybox:debian", command: ["sleep", "3600"] }],
    },
  };
}

async function run(state: LabState, config: string) {
  const api = new ApiClient(await readConfig(config));
  const monitors = state.nodes.map((n) => new RuleMonitor(n.name, n.namespace, /10\.251\.\d+\.\d+/));
  try {
    await api.create(namespaces, undefined, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: NAMESPACE },
    });
    for (const n of state.nodes) await api.create(pods, NAMESPACE, podOn(n.name));
    for (const n of state.nodes) {
      for (let i = 0; ; i++) {
        const pod = (await api.get(pods, NAMESPACE, `bench-${n.name}`)) as { status?: { podIP?: string } };
        if (pod.status?.podIP) break;
        if (i === 600) throw new Error(`pod bench-${n.name} got no IP within 120 s`);
        await sleep(200);
      }
    }
    const first = "10.251.255.1";
    await api.create(policies, NAMESPACE, policyOf(first));
    await Promise.all(monitors.map((m) => m.carried(first, 60_000)));
    const perHost: number[] = [];
    const allHosts: number[] = [];
    for (let i = 0; i < args.changes; i++) {
      const block = blockOf(i);
      const current = await api.get(policies, NAMESPACE, POLICY);
      const next = { ...(policyOf(block) as KubeObject), metadata: current.metadata };
      const sent = performance.now();
      await api.update(policies, NAMESPACE, next);
      const times = await Promise.all(monitors.map((m) => m.carried(block, CHANGE_TIMEOUT_MS)));
      for (const t of times) perHost.push(t - sent);
      allHosts.push(Math.max(...times) - sent);
      // Changes a few tens of milliseconds apart, not back to back, so each is timed on its own.
      await sleep(20 + Math.random() * 30);
    }
    return {
      changes: args.changes,
      untilAllHosts: latencySummary(allHosts),
      perHost: latencySummary(perHost),
    };
  } finally {
    for (const m of monitors) m.stop();
    api.close();
  }
}

const loadAverage = async () => (await readFile("/proc/loadavg", "utf8")).split(" ").slice(0, 3).join(" ");

async function main(): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new Error("the policy propagation benchmark needs root (a lab of network namespaces)");
  const out = await withBenchLab({ name: "pp", hosts: args.hosts }, async (lab) => {
    const before = await loadAverage();
    const result = await run(lab.state, lab.clientConfig);
    return {
      date: new Date().toISOString(),
      hosts: args.hosts,
      loadAverage: { before, after: await loadAverage() },
      ...result,
    };
  });
  console.log(JSON.stringify(out, null, 2));
  await mkdir(".bench", { recursive: true });
  await writeFile(".bench/policy-propagation.json", `${JSON.stringify(out, null, 2)}\n`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
