/**
 * The chaos soak: `npm run soak -- [--minutes N] [--seed S]`. A lab with three control planes and
 * worker hosts; a request loop against a Service from every host, rollouts and scaling of a few
 * Deployments, pods that ask for at most one copy, a ledger of acknowledged writes, and faults
 * drawn with a seeded generator from the fault table (faults.ts). At the end it prints and writes
 * to `.bench/soak.json` a report: writes lost, requests per fault kind, time for every Deployment
 * to converge once the faults stop, any moment an at-most-one pod ran on two hosts, and what the
 * hosts leaked once the soak's workloads were deleted. The seed is printed so a run can be
 * replayed. Logs of a failed run are kept (the path is printed).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { haComponents } from "../../kctl/lab/ha-components.js";
import { startAtMostOneChecker } from "../support/at-most-one-checker.js";
import { type LabCluster, startLabCluster } from "../support/lab-cluster.js";
import { leaksAfterSettling, snapshotLab } from "../support/leak-checker.js";
import { describeLeaks } from "../support/leak-diff.js";
import { startAtMostOneWorkloads } from "./at-most-one-workloads.js";
import { drawFault, type FaultDetail, faultTable } from "./faults.js";
import { fenceTimesOf } from "./fences.js";

const image = "kctl.local/busybox:debian";
const ns = "soak";
const deployments = ["web", "api"];
const workers = 4;
const convergeBoundMs = 180_000;
const recoveryWindowMs = 20_000;
const cleanupBoundMs = 120_000;

class SoakArgumentError extends Error {
  constructor(flag: string, value: string | undefined) {
    super(`${flag}: want a positive number, got ${JSON.stringify(value)}`);
  }
}

function parseArgs(argv: string[]): { minutes: number; seed: number } {
  let minutes = 10;
  let seed = Math.floor(Math.random() * 2 ** 31);
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i]!, argv[i + 1]];
    const n = Number(value);
    if (!(Number.isFinite(n) && n > 0)) throw new SoakArgumentError(flag, value);
    if (flag === "--minutes") minutes = n;
    else if (flag === "--seed") seed = Math.floor(n);
    else throw new SoakArgumentError(flag, value);
  }
  return { minutes, seed };
}

/** mulberry32: a small seeded generator, so `--seed` replays the same fault plan. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function manifest(name: string, replicas: number, version: number): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: ns },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: "httpd",
              image,
              env: [{ name: "VERSION", value: String(version) }],
              command: [
                "sh",
                "-c",
                "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www",
              ],
              readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  });
}

interface Fault {
  kind: string;
  target: string;
  startedMs: number;
  endedMs?: number;
  detail?: FaultDetail;
}

interface DeploymentView {
  metadata: { name: string; generation: number };
  spec: { replicas: number };
  status?: {
    observedGeneration?: number;
    updatedReplicas?: number;
    replicas?: number;
    availableReplicas?: number;
  };
}

const rolledOut = (d: DeploymentView) =>
  d.status?.observedGeneration === d.metadata.generation &&
  d.status.updatedReplicas === d.spec.replicas &&
  d.status.replicas === d.spec.replicas &&
  d.status.availableReplicas === d.spec.replicas;

async function soak(lab: LabCluster, minutes: number, random: () => number) {
  const hosts = lab.state.nodes.map((n) => n.name);
  const soakHosts = { controlPlanes: hosts.slice(0, 3), workers: hosts.slice(3) };
  const leakBaseline = await snapshotLab(lab.state.labDir);
  await lab.kctl("create", "namespace", ns);
  for (const d of deployments) await lab.apply(manifest(d, 2, 0));
  await lab.apply(
    JSON.stringify({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: ns },
      spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] },
    }),
  );
  const svc = JSON.parse((await lab.kctl("get", "service", "web", "-n", ns, "-o", "json")).stdout) as {
    spec: { clusterIP: string };
  };
  await waitConverged(lab, convergeBoundMs);
  const atMostOne = await startAtMostOneChecker(lab.state.labDir, lab.config);
  const atMostOneWorkloads = await startAtMostOneWorkloads(lab, ns);

  const faults: Fault[] = [];
  // A request counts against a fault while it lasts and for a recovery window after it (routes,
  // endpoints and leases catch up); "none" is what failed with no fault in the path.
  const inPath = (): string => {
    const last = faults.at(-1);
    if (!last) return "none";
    if (last.endedMs === undefined) return last.kind;
    return Date.now() - last.endedMs < recoveryWindowMs ? `${last.kind}+recovery` : "none";
  };
  const requests: Record<string, { ok: number; failed: number }> = {};
  const acked: string[] = [];
  const endAt = Date.now() + minutes * 60_000;
  let running = true;

  const requestLoop = async (host: string) => {
    while (running) {
      const before = inPath();
      const res = await lab.httpGet(host, `http://${svc.spec.clusterIP}/`);
      const after = inPath();
      const kind = before === "none" ? after : before;
      requests[kind] ??= { ok: 0, failed: 0 };
      if (res.code === 0) requests[kind].ok++;
      else requests[kind].failed++;
      await sleep(500);
    }
  };
  const ledgerLoop = async () => {
    for (let i = 0; running; i++) {
      const name = `ledger-${i}`;
      const res = await lab.apply(
        JSON.stringify({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name, namespace: ns },
          data: { i: String(i) },
        }),
      );
      if (res.code === 0) acked.push(name);
      await sleep(1_000);
    }
  };
  const rolloutLoop = async () => {
    for (let version = 1; running; version++) {
      const d = deployments[Math.floor(random() * deployments.length)]!;
      await lab.apply(manifest(d, 1 + Math.floor(random() * 4), version));
      await sleep(20_000);
    }
  };
  const loops = [...hosts.map(requestLoop), ledgerLoop(), rolloutLoop()];

  while (Date.now() < endAt) {
    const drawn = drawFault(faultTable, soakHosts, random);
    const fault: Fault = { kind: drawn.fault.kind, target: drawn.target, startedMs: Date.now() };
    faults.push(fault);
    console.log(`fault ${fault.kind} ${fault.target}`);
    const active = await drawn.fault.start({ lab, hosts: soakHosts, namespace: ns }, drawn.target);
    await sleep(drawn.fault.holdMs);
    fault.detail = await active.end();
    fault.endedMs = Date.now();
    await sleep(10_000 + random() * 20_000);
  }
  const faultsStoppedMs = Date.now();
  const convergeMs = await waitConverged(lab, convergeBoundMs);
  running = false;
  await Promise.all([...loops, atMostOneWorkloads.stop()]);
  const atMostOneReport = await atMostOne.stop();

  const stored = JSON.parse((await lab.kctl("get", "configmaps", "-n", ns, "-o", "json")).stdout) as {
    items: { metadata: { name: string } }[];
  };
  const present = new Set(stored.items.map((c) => c.metadata.name));
  const lost = acked.filter((n) => !present.has(n));
  const cleanup = await deleteWorkloads(lab);
  const leaks = await leaksAfterSettling(lab.state.labDir, leakBaseline, cleanupBoundMs);
  const fences = await Promise.all(
    hosts.map(async (h) => [h, await fenceTimesOf(lab.state.labDir, h)] as const),
  );
  // Fences of any host while a fault lasted or in its recovery window: they tell which fault cost pods.
  const fencesIn = (from: number, to: number) =>
    fences.reduce((n, [, times]) => n + times.filter((t) => t >= from && t <= to).length, 0);
  return {
    faults: faults.map((f) => ({
      kind: f.kind,
      target: f.target,
      durationMs: f.endedMs! - f.startedMs,
      ...f.detail,
      hostsFenced: fencesIn(f.startedMs, f.endedMs! + recoveryWindowMs),
    })),
    requests,
    ledger: { acknowledged: acked.length, lost },
    convergeAfterFaultsMs: convergeMs,
    faultsStoppedMs,
    atMostOne: atMostOneReport,
    fences: Object.fromEntries(fences.map(([h, times]) => [h, times.map((t) => new Date(t).toISOString())])),
    workloadsDeletedMs: cleanup,
    leaks: { settledMs: leaks.settledMs ?? null, items: describeLeaks(leaks.leaks) },
  };
}

/** Deletes the soak's namespace and waits until it is gone; returns how long it took. */
async function deleteWorkloads(lab: LabCluster): Promise<number> {
  const started = Date.now();
  await lab.kctl("delete", "namespace", ns);
  while (Date.now() - started < cleanupBoundMs) {
    const res = await lab.kctl("get", "namespace", ns, "-o", "name");
    if (res.code !== 0 && /not ?found/i.test(res.stderr)) return Date.now() - started;
    await sleep(1_000);
  }
  throw new Error(`namespace ${ns} was not gone within ${cleanupBoundMs} ms of its deletion`);
}

/** Polls until every Deployment has rolled out; returns how long it took, or throws past `boundMs`. */
async function waitConverged(lab: LabCluster, boundMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < boundMs) {
    const res = await lab.kctl("get", "deployments", "-n", ns, "-o", "json");
    if (res.code === 0) {
      const items = (JSON.parse(res.stdout) as { items: DeploymentView[] }).items;
      if (items.length === deployments.length && items.every(rolledOut)) return Date.now() - started;
    }
    await sleep(1_000);
  }
  throw new Error(`deployments in ${ns} did not converge within ${boundMs} ms`);
}

async function main(): Promise<void> {
  const { minutes, seed } = parseArgs(process.argv.slice(2));
  console.log(`soak: seed ${seed}, ${minutes} min (replay with --seed ${seed})`);
  const lab = await startLabCluster("soak", 3 + workers, haComponents(3), 300_000);
  let failed = true;
  try {
    const report = {
      seed,
      minutes,
      hosts: lab.state.nodes.length,
      ...(await soak(lab, minutes, seeded(seed))),
    };
    const unfaulted = report.requests.none?.failed ?? 0;
    failed =
      report.ledger.lost.length > 0 ||
      unfaulted > 0 ||
      report.atMostOne.overlaps.length > 0 ||
      report.leaks.items.length > 0;
    await mkdir(".bench", { recursive: true });
    await writeFile(".bench/soak.json", `${JSON.stringify(report, null, 2)}\n`);
    console.log(JSON.stringify(report, null, 2));
  } finally {
    await lab.down(failed ? ({ result: { state: "fail" }, tasks: [] } as never) : undefined);
  }
  if (failed) process.exit(1);
}

void main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
