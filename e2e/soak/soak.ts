/**
 * The chaos soak: `npm run soak -- [--minutes N] [--seed S] [--faults KIND,...] [--lab-prefix P]`,
 * or `runSoak` from a test. A lab with
 * three control planes and worker hosts; a request loop against a Service from every host,
 * rollouts and scaling of a few Deployments, pods that ask for at most one copy, a ledger of
 * acknowledged writes, and faults drawn with a seeded generator from the fault table (faults.ts).
 * At the end it prints and writes to `.bench/soak.json` a report: writes lost, requests per fault
 * kind, time to recover after each fault kind, the longest API gap across each control-plane kill,
 * every failed request with what the API and the host knew at that moment, the time for every
 * Deployment to roll out once the faults stop, any moment an at-most-one pod ran on two hosts, and
 * what the hosts leaked once the soak's workloads were deleted. The seed is printed first so a run
 * can be replayed.
 * A failed run keeps the lab's logs (the folder is in the failure message).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { ApiClient } from "../../kctl/client.js";
import { readConfig } from "../../kctl/config.js";
import { haComponents, multiServerConfig } from "../../kctl/lab/ha-components.js";
import { labContext } from "../../kctl/lab/lab-up.js";
import { startAtMostOneChecker } from "../support/at-most-one-checker.js";
import { startGapPoller } from "../support/gap-poller-process.js";
import { type LabCluster, startLabCluster } from "../support/lab-cluster.js";
import { leaksAfterSettling, snapshotLabAtRest } from "../support/leak-checker.js";
import { describeLeaks } from "../support/leak-diff.js";
import { startAtMostOneWorkloads } from "./at-most-one-workloads.js";
import { ClusterWatch } from "./cluster-watch.js";
import {
  drawFault,
  type FaultContext,
  type FaultDetail,
  type FaultKind,
  faultTable,
  type SoakHosts,
} from "./faults.js";
import { fenceTimesOf, lateRenewalsOf } from "./fences.js";
import { diagnoseFailure, type FailureDiagnosis, type ProbeResult, probeService } from "./service-probe.js";
import { count, fencesOverBlips, type Spread, spreadByKind, type Tally } from "./soak-report.js";

const image = "kctl.local/busybox:debian";
const ns = "soak";
const service = "web";
const deployments = ["web", "api"];
const workers = 4;
const settleBoundMs = 180_000;
const recoveryWindowMs = 20_000;
/** How long the API gap poller keeps polling after a control plane is back. */
const gapTailMs = 10_000;
const cleanupBoundMs = 120_000;

const usage = "usage: soak [--minutes N] [--seed S] [--faults KIND,...] [--lab-prefix P]";

export class SoakArgumentError extends Error {
  constructor(flag: string, value: string | undefined, want: string) {
    super(`${flag}: want ${want}, got ${JSON.stringify(value)} (${usage})`);
    this.name = "SoakArgumentError";
  }
}

export interface SoakOptions {
  minutes: number;
  seed: number;
  /** The fault kinds to draw from (by weight, as from the whole table); default all of them. */
  faultKinds?: string[];
  /** The lab's name before its random suffix (default "soak"), to tell soaks on a shared machine apart. */
  labPrefix?: string;
}

export function parseArgs(argv: readonly string[]): SoakOptions {
  const opts: SoakOptions = { minutes: 10, seed: Math.floor(Math.random() * 2 ** 31) };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i]!, argv[i + 1]];
    const n = Number(value);
    const positive = Number.isFinite(n) && n > 0;
    if (flag === "--minutes" || flag === "--seed") {
      if (!positive) throw new SoakArgumentError(flag, value, "a positive number");
      if (flag === "--minutes") opts.minutes = n;
      else opts.seed = Math.floor(n);
    } else if (flag === "--faults") {
      const kinds = value?.split(",").filter(Boolean) ?? [];
      const known = faultTable.map((f) => f.kind);
      if (kinds.length === 0 || kinds.some((k) => !known.includes(k)))
        throw new SoakArgumentError(flag, value, `fault kinds out of ${known.join(", ")}`);
      opts.faultKinds = kinds;
    } else if (flag === "--lab-prefix") {
      // The random suffix takes 4 of a lab name's 10 characters.
      if (!value || !/^[a-z][a-z0-9]{0,5}$/.test(value))
        throw new SoakArgumentError(flag, value, "1-6 lower-case letters and digits, a letter first");
      opts.labPrefix = value;
    } else throw new SoakArgumentError(flag, value, "a known flag");
  }
  return opts;
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
        // As manifests/web.yaml: what a user deploys, with a grace period that leaves the agent
        // time to take the pod out of every Service before it stops it.
        spec: {
          terminationGracePeriodSeconds: 5,
          containers: [
            {
              name: "httpd",
              image,
              imagePullPolicy: "IfNotPresent",
              env: [
                { name: "VERSION", value: String(version) },
                { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
              ],
              command: [
                "sh",
                "-c",
                'mkdir -p /www && echo "$POD_NAME" > /www/index.html && exec httpd -f -p 8080 -h /www',
              ],
              ports: [{ name: "http", containerPort: 8080 }],
              readinessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 1 },
              resources: { requests: { cpu: "50m", memory: "16Mi" }, limits: { memory: "64Mi" } },
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
  /** Control-plane kills: the longest API gap clients saw across it. */
  apiGap?: { viaHostMs: number; viaFrontMs: number };
  /** What the fault saw as it ended (faults.ts). */
  detail?: FaultDetail;
}

/** A failed request, with what was in its path and what the API and the host knew then. */
interface FailedRequest extends ProbeResult, FailureDiagnosis {
  host: string;
  /** Ms since the soak's request loops started. */
  atRunMs: number;
  path: string;
  /** The fault last started, its target, and ms since it started and (if it has) ended. */
  lastFault?: string;
  sinceFaultStartMs?: number;
  sinceFaultEndMs?: number;
  apiEndpoints: string[];
}

/**
 * Starts a fault from the table, holds it, ends it. A control-plane kill is watched by two API
 * clients polling every 100 ms: one on a worker with every apiserver in its kubeconfig, the killed
 * one first (as a client that was using it), and one through the lab's front.
 */
async function runFault(ctx: FaultContext, fault: Fault, kind: FaultKind): Promise<void> {
  const pollers =
    fault.kind === "controlplane-kill"
      ? [
          startGapPoller(
            multiServerConfig(labContext(ctx.lab.state), fault.target),
            ctx.lab.state.nodes.at(-1)!.namespace,
          ),
          startGapPoller(ctx.lab.config),
        ]
      : [];
  try {
    if (pollers.length > 0) await sleep(1_000);
    const running = await kind.start(ctx, fault.target);
    await sleep(kind.holdMs);
    fault.detail = await running.end();
    // The fault ends here (a control plane when it is started again); the clients poll a while more.
    fault.endedMs = Date.now();
    if (pollers.length > 0) await sleep(gapTailMs);
  } finally {
    const reports = await Promise.all(pollers.map((p) => p.stop()));
    if (reports.length > 0)
      fault.apiGap = { viaHostMs: reports[0]!.maxGapMs, viaFrontMs: reports[1]!.maxGapMs };
  }
}

async function soak(lab: LabCluster, minutes: number, seed: number, table: readonly FaultKind[]) {
  const hosts = lab.state.nodes.map((n) => n.name);
  const soakHosts: SoakHosts = { controlPlanes: hosts.slice(0, 3), workers: hosts.slice(3) };
  const leakBaseline = await snapshotLabAtRest(lab.state.labDir);
  await lab.kctl("create", "namespace", ns);
  for (const d of deployments) await lab.apply(manifest(d, 2, 0));
  await lab.apply(
    JSON.stringify({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: service, namespace: ns },
      spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
    }),
  );
  const svc = JSON.parse((await lab.kctl("get", "service", service, "-n", ns, "-o", "json")).stdout) as {
    spec: { clusterIP: string };
  };
  const client = new ApiClient(await readConfig(lab.config));
  const watch = new ClusterWatch(client, ns, service, deployments);
  watch.start();
  try {
    await watch.settledAfter(Date.now(), settleBoundMs);
    const atMostOne = await startAtMostOneChecker(lab.state.labDir, lab.config);
    const atMostOneWorkloads = await startAtMostOneWorkloads(lab, ns);
    const run = await faultsAndLoad(lab, watch, svc.spec.clusterIP, minutes, seed, soakHosts, table);
    await atMostOneWorkloads.stop();
    const atMostOneReport = await atMostOne.stop();
    const workloadsDeletedMs = await deleteWorkloads(lab);
    const leaks = await leaksAfterSettling(lab.state.labDir, leakBaseline, cleanupBoundMs);
    return {
      ...run,
      atMostOne: atMostOneReport,
      workloadsDeletedMs,
      leaks: { settledMs: leaks.settledMs ?? null, items: describeLeaks(leaks.leaks) },
    };
  } finally {
    await watch.stop();
    client.close();
  }
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

async function faultsAndLoad(
  lab: LabCluster,
  watch: ClusterWatch,
  clusterIP: string,
  minutes: number,
  seed: number,
  soakHosts: SoakHosts,
  table: readonly FaultKind[],
) {
  const hosts = lab.state.nodes.map((n) => n.name);
  // Faults and rollouts draw from generators of their own, so the loops' interleaving (which
  // depends on timing) cannot change the fault plan a seed replays.
  const faultRandom = seeded(seed);
  const rolloutRandom = seeded(seed ^ 0x5eed);
  const faults: Fault[] = [];
  // A request counts against a fault while it lasts and for a recovery window after it (routes,
  // endpoints and leases catch up); "none" is what failed with no fault in the path.
  const inPath = (): string => {
    const last = faults.at(-1);
    if (!last) return "none";
    if (last.endedMs === undefined) return last.kind;
    return Date.now() - last.endedMs < recoveryWindowMs ? `${last.kind}+recovery` : "none";
  };
  const requests: Record<string, Tally> = {};
  const failures: FailedRequest[] = [];
  const acked: string[] = [];
  const startedMs = Date.now();
  const endAt = startedMs + minutes * 60_000;
  let running = true;

  const requestLoop = async (host: string) => {
    while (running) {
      const before = inPath();
      const res = await probeService(lab, host, clusterIP);
      const after = inPath();
      const path = before === "none" ? after : before;
      const fault = faults.at(-1);
      const onTarget = fault?.target === host;
      count(requests, onTarget && path !== "none" ? `${path} (on the host)` : path, res.ok);
      if (!res.ok) {
        failures.push({
          host,
          atRunMs: res.atMs - startedMs,
          path,
          ...res,
          ...(fault
            ? {
                lastFault: `${fault.kind} ${fault.target}`,
                sinceFaultStartMs: res.atMs - fault.startedMs,
                ...(fault.endedMs !== undefined ? { sinceFaultEndMs: res.atMs - fault.endedMs } : {}),
              }
            : {}),
          apiEndpoints: watch.at(res.atMs)?.endpoints ?? [],
          ...(await diagnoseFailure(lab, host, clusterIP, `${ns}/${service}`)),
        });
      }
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
      const d = deployments[Math.floor(rolloutRandom() * deployments.length)]!;
      await lab.apply(manifest(d, 1 + Math.floor(rolloutRandom() * 4), version));
      await sleep(20_000);
    }
  };
  const loops = [...hosts.map(requestLoop), ledgerLoop(), rolloutLoop()];

  const ctx: FaultContext = { lab, hosts: soakHosts, namespace: ns };
  while (Date.now() < endAt) {
    const drawn = drawFault(table, soakHosts, faultRandom);
    const fault: Fault = { kind: drawn.fault.kind, target: drawn.target, startedMs: Date.now() };
    faults.push(fault);
    console.log(
      `fault ${fault.kind} ${fault.target} at ${((fault.startedMs - startedMs) / 1000).toFixed(1)} s`,
    );
    await runFault(ctx, fault, drawn.fault);
    await sleep(10_000 + faultRandom() * 20_000);
  }
  const faultsStoppedMs = Date.now();
  const settled = await watch.settledAfter(faultsStoppedMs, settleBoundMs);
  running = false;
  await Promise.all(loops);

  const stored = JSON.parse((await lab.kctl("get", "configmaps", "-n", ns, "-o", "json")).stdout) as {
    items: { metadata: { name: string } }[];
  };
  const present = new Set(stored.items.map((c) => c.metadata.name));
  const lost = acked.filter((n) => !present.has(n));
  // Recovery is counted from a fault's end to the first sample with every Node Ready and every
  // Deployment available, before the next fault starts (else it is reported as not recovered).
  const recovery = faults.map((f, i) => {
    const sample = watch.recoveredAfter(f.endedMs!, faults[i + 1]?.startedMs ?? Number.POSITIVE_INFINITY);
    return { kind: f.kind, ms: sample ? sample.atMs - f.endedMs! : undefined };
  });
  const fences = await Promise.all(
    hosts.map(async (h) => [h, await fenceTimesOf(lab.state.labDir, h)] as const),
  );
  // Fences of any host while a fault lasted or in its recovery window: they tell which fault cost pods.
  const fencesIn = (from: number, to: number) =>
    fences.reduce((n, [, times]) => n + times.filter((t) => t >= from && t <= to).length, 0);
  // And the renewals that came close to one: how many failed or outlasted the renew period, and the
  // longest, say whether the control planes could write while the fault lasted.
  const late = (
    await Promise.all(soakHosts.controlPlanes.map((h) => lateRenewalsOf(lab.state.labDir, h)))
  ).flat();
  const lateRenewalsIn = (from: number, to: number) => {
    const within = late.filter((r) => r.atMs >= from && r.atMs <= to);
    return {
      late: within.length,
      failed: within.filter((r) => r.failed).length,
      longestMs: Math.max(0, ...within.map((r) => r.tookMs)),
    };
  };
  return {
    faults: faults.map((f) => ({
      kind: f.kind,
      target: f.target,
      atRunMs: f.startedMs - startedMs,
      durationMs: f.endedMs! - f.startedMs,
      ...(f.apiGap ? { apiGap: f.apiGap } : {}),
      ...f.detail,
      hostsFenced: fencesIn(f.startedMs, f.endedMs! + recoveryWindowMs),
      renewals: lateRenewalsIn(f.startedMs, f.endedMs! + recoveryWindowMs),
    })),
    requests,
    recoveryAfterFault: spreadByKind(
      recovery.filter((r) => r.ms !== undefined) as { kind: string; ms: number }[],
    ) as Record<string, Spread>,
    notRecoveredBeforeNextFault: recovery.filter((r) => r.ms === undefined).map((r) => r.kind),
    apiGapOnControlPlaneKill: faults.flatMap((f) => (f.apiGap ? [{ target: f.target, ...f.apiGap }] : [])),
    ledger: { acknowledged: acked.length, lost },
    settleAfterFaultsMs: settled.atMs - faultsStoppedMs,
    fences: Object.fromEntries(fences.map(([h, times]) => [h, times.map((t) => new Date(t).toISOString())])),
    failures,
    endpointChanges: watch
      .endpointChanges()
      .map((c) => ({ atRunMs: c.atMs - startedMs, endpoints: c.endpoints })),
  };
}

export type SoakReport = SoakOptions & { hosts: number } & Awaited<ReturnType<typeof soak>>;

export interface SoakOutcome {
  report: SoakReport;
  /** What broke an invariant; empty when the run passed. */
  violations: string[];
  /** Where the lab's logs were kept, when the run failed. */
  logs?: string;
}

/** Runs the soak on a new lab, writes `.bench/soak.json`, and takes the lab down (keeping its logs on failure). */
export async function runSoak(opts: SoakOptions): Promise<SoakOutcome> {
  const replay = `--seed ${opts.seed}${opts.faultKinds ? ` --faults ${opts.faultKinds.join(",")}` : ""}`;
  console.log(`soak: seed ${opts.seed}, ${opts.minutes} min (replay with ${replay})`);
  const table = opts.faultKinds ? faultTable.filter((f) => opts.faultKinds?.includes(f.kind)) : faultTable;
  const lab = await startLabCluster(opts.labPrefix ?? "soak", 3 + workers, haComponents(3), 300_000);
  console.log(`soak: lab ${lab.state.name} up`);
  let outcome: SoakOutcome | undefined;
  try {
    const report: SoakReport = {
      ...opts,
      hosts: lab.state.nodes.length,
      ...(await soak(lab, opts.minutes, opts.seed, table)),
    };
    const violations: string[] = [];
    if (report.ledger.lost.length > 0)
      violations.push(`acknowledged writes lost: ${report.ledger.lost.join(", ")}`);
    const unfaulted = report.requests.none?.failed ?? 0;
    if (unfaulted > 0) violations.push(`${unfaulted} requests failed with no fault in their path`);
    for (const o of report.atMostOne.overlaps)
      violations.push(`at most one copy broken: ${JSON.stringify(o)}`);
    for (const leak of report.leaks.items) violations.push(`leaked: ${leak}`);
    const blips = new Set(faultTable.filter((f) => f.controlPlaneBlip).map((f) => f.kind));
    violations.push(...fencesOverBlips(report.faults, blips));
    await mkdir(".bench", { recursive: true });
    await writeFile(".bench/soak.json", `${JSON.stringify(report, null, 2)}\n`);
    outcome = { report, violations };
    if (violations.length > 0) outcome.logs = await lab.keepLogs();
    return outcome;
  } finally {
    if (!outcome) await lab.keepLogs().catch(() => undefined);
    await lab.down();
  }
}

/** The report without its long lists (every failed request, every endpoint change), as printed. */
export function summary(report: SoakReport): string {
  const { failures, endpointChanges, ...rest } = report;
  return `${JSON.stringify(rest, null, 2)}\n${failures.length} failed requests and ${endpointChanges.length} endpoint changes are listed in .bench/soak.json`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(
      `${usage}\n  --minutes N      how long faults are drawn (default 10)\n  --seed S         replays a run's fault plan (default random, printed)\n  --faults K,...   draw only these kinds: ${faultTable.map((f) => f.kind).join(", ")}\n  --lab-prefix P   the lab's name before its random suffix (default soak)`,
    );
    return;
  }
  const opts = parseArgs(argv);
  const { report, violations, logs } = await runSoak(opts);
  console.log(summary(report));
  if (violations.length > 0) {
    console.error(`soak failed (seed ${opts.seed}): ${violations.join("; ")}; lab logs kept in ${logs}`);
    process.exit(1);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
