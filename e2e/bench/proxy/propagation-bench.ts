import { mkdir, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import type { KubeObject } from "../../../foundation/api/object.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import { ApiClient } from "../../../kctl/client.js";
import { readConfig } from "../../../kctl/config.js";
import type { LabState } from "../../../kctl/lab/lab-state.js";
import { withBenchLab } from "../support/bench-lab.js";
import { RuleMonitor, latencySummary as summary } from "./rule-monitor.js";

const { values: flags } = parseArgs({
  options: {
    hosts: { type: "string", default: "3" },
    changes: { type: "string", default: "200" },
    services: { type: "string", default: "1000" },
  },
});

function count(flag: keyof typeof flags, min: number): number {
  const text = flags[flag]!;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`--${flag}: expected an integer of at least ${min}, got "${text}"`);
  return n;
}

const args = { hosts: count("hosts", 1), changes: count("changes", 1), services: count("services", 0) };
const NAMESPACE = "bench";
const PROBE = "probe";
/** No host is given a route to these: the rules are only watched, never used. */
const probeAddress = (i: number) => `10.251.${Math.floor(i / 250)}.${(i % 250) + 1}`;
const CHANGE_TIMEOUT_MS = 10_000;

const namespaces = resourceForKind("v1", "Namespace")!;
const services = resourceForKind("v1", "Service")!;
const endpoints = resourceForKind("v1", "Endpoints")!;

function endpointsOf(name: string, ips: readonly string[]): object {
  return {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name, namespace: NAMESPACE },
    subsets: [{ addresses: ips.map((ip) => ({ ip })), ports: [{ name: "http", port: 8080 }] }],
  };
}

function serviceOf(name: string): object {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: NAMESPACE },
    spec: { ports: [{ name: "http", port: 80, targetPort: 8080 }] },
  };
}

/** Creates `count` Services of 10 endpoints each, `concurrency` requests at a time. */
async function loadServices(api: ApiClient, count: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const name = `svc-${i}`;
      await api.create(services, NAMESPACE, serviceOf(name));
      const ips = Array.from(
        { length: 10 },
        (_, k) => `10.252.${Math.floor(i / 25)}.${(i % 25) * 10 + k + 1}`,
      );
      await api.create(endpoints, NAMESPACE, endpointsOf(name, ips));
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

async function measure(api: ApiClient, monitors: readonly RuleMonitor[], first: number, changes: number) {
  const perHost: number[] = [];
  const allHosts: number[] = [];
  for (let i = first; i < first + changes; i++) {
    const ip = probeAddress(i);
    const current = await api.get(endpoints, NAMESPACE, PROBE);
    const next = { ...(endpointsOf(PROBE, [ip, "10.251.255.1"]) as KubeObject), metadata: current.metadata };
    const sent = performance.now();
    await api.update(endpoints, NAMESPACE, next);
    const times = await Promise.all(monitors.map((m) => m.carried(ip, CHANGE_TIMEOUT_MS)));
    for (const t of times) perHost.push(t - sent);
    allHosts.push(Math.max(...times) - sent);
    // Changes a few tens of milliseconds apart, not back to back, so each is timed on its own.
    await sleep(20 + Math.random() * 30);
  }
  return { changes, untilAllHosts: summary(allHosts), perHost: summary(perHost) };
}

async function run(state: LabState, config: string) {
  const api = new ApiClient(await readConfig(config));
  const monitors = state.nodes.map((n) => new RuleMonitor(n.name, n.namespace, /10\.25[12]\.\d+\.\d+/));
  try {
    await api.create(namespaces, undefined, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: NAMESPACE },
    });
    await api.create(services, NAMESPACE, serviceOf(PROBE));
    await api.create(endpoints, NAMESPACE, endpointsOf(PROBE, ["10.251.255.1"]));
    await Promise.all(monitors.map((m) => m.carried("10.251.255.1", 30_000)));
    const empty = await measure(api, monitors, 0, args.changes);
    console.log(JSON.stringify({ empty }, null, 2));
    if (args.services === 0) return { empty };
    const loadStart = performance.now();
    await loadServices(api, args.services);
    const lastEndpoint = `10.252.${Math.floor((args.services - 1) / 25)}.${((args.services - 1) % 25) * 10 + 10}`;
    await Promise.all(monitors.map((m) => m.carried(lastEndpoint, 300_000)));
    const loadedMs = Math.round((performance.now() - loadStart) * 10) / 10;
    const loaded = await measure(api, monitors, args.changes, args.changes);
    const withServices = { services: args.services, endpointsPerService: 10, loadedMs, ...loaded };
    console.log(JSON.stringify({ withServices }, null, 2));
    return { empty, withServices };
  } finally {
    for (const m of monitors) m.stop();
    api.close();
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new Error("the propagation benchmark needs root (a lab of network namespaces)");
  const out = await withBenchLab(
    { name: "prop", hosts: args.hosts, readyTimeoutMs: 120_000 },
    async (lab) => ({
      date: new Date().toISOString(),
      hosts: args.hosts,
      ...(await run(lab.state, lab.clientConfig)),
    }),
  );
  await mkdir(".bench", { recursive: true });
  await writeFile(".bench/propagation.json", `${JSON.stringify(out, null, 2)}\n`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
