/**
 * The soak's fault table: each kind of fault, the hosts it may hit, its weight in the draw, how it
 * starts, how long it holds and how it ends. Ending a fault waits for what must follow it (a killed
 * etcd member back and caught up) and returns what was seen, for the report. `drawFault` picks a
 * kind by weight and a target with the soak's seeded generator, so `--seed` replays the plan.
 */
import { controlPlaneOn } from "../../kctl/lab/ha-components.js";
import { readLabState } from "../../kctl/lab/lab-state.js";
import { plugCable, pullCable } from "../support/cable.js";
import type { LabCluster } from "../support/lab-cluster.js";
import {
  controlPlaneState,
  etcdPid,
  leaderOf,
  memberEndpoint,
  memberMetrics,
  memberStatus,
} from "../support/lab-etcd.js";
import { stressCpu } from "./cpu-stress.js";
import { fenceTimesOf } from "./fences.js";
import { blkioDir, diskOf, throttleWrites, unthrottled, type WriteLimit } from "./slow-disk.js";

export interface SoakHosts {
  /** Hosts with a control plane and an etcd member (and an agent). */
  controlPlanes: readonly string[];
  /** Hosts with an agent only. */
  workers: readonly string[];
}

export interface FaultContext {
  lab: LabCluster;
  hosts: SoakHosts;
  /** Where a fault may write (the etcd fault's write probes). */
  namespace: string;
}

/** What a fault saw, for the report. */
export type FaultDetail = Record<string, string | number | boolean>;

export interface RunningFault {
  end(): Promise<FaultDetail>;
}

export interface FaultKind {
  kind: string;
  weight: number;
  targets(hosts: SoakHosts): readonly string[];
  /** How long the fault holds between its start and its end. */
  holdMs: number;
  /**
   * The fault takes down one control plane of three, or its etcd member, and nothing else: every
   * node is healthy and reaches the others, so no agent may fence while it lasts or recovers.
   */
  controlPlaneBlip?: true;
  start(ctx: FaultContext, target: string): Promise<RunningFault>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const allHosts = (h: SoakHosts) => [...h.controlPlanes, ...h.workers];
const noDetail: RunningFault = { end: async () => ({}) };

/** Polls `probe` every 500 ms until it returns a value or `boundMs` passes. */
async function within<T>(boundMs: number, probe: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined || Date.now() >= deadline) return v;
    await sleep(500);
  }
}

/** Another control plane host than `target`, to look at the cluster from. */
const observerFor = (ctx: FaultContext, target: string) => ctx.hosts.controlPlanes.find((h) => h !== target)!;

/** Whether the control plane on `node` leads the controller manager now. */
async function leadsControllers(ctx: FaultContext, node: string): Promise<boolean> {
  const observer = observerFor(ctx, node);
  const endpoints = ctx.hosts.controlPlanes.map((h) => memberEndpoint(ctx.lab, h));
  const place = { on: observer, certsOf: observer };
  const leader = await leaderOf(ctx.lab, place, endpoints, "kube-controller-manager").catch(() => undefined);
  return leader === controlPlaneOn(node);
}

const agentKill: FaultKind = {
  kind: "agent-kill",
  weight: 20,
  targets: (h) => h.workers,
  holdMs: 0,
  start: async (ctx, target) => {
    await ctx.lab.crashAndRestart(target);
    return noDetail;
  },
};

const controlPlaneKill: FaultKind = {
  kind: "controlplane-kill",
  weight: 20,
  targets: (h) => h.controlPlanes,
  holdMs: 0,
  controlPlaneBlip: true,
  start: async (ctx, target) => {
    const leader = await leadsControllers(ctx, target);
    await ctx.lab.crashAndRestart(controlPlaneOn(target));
    return { end: async () => ({ leader }) };
  },
};

const memberBoundMs = 60_000;

/**
 * SIGKILL of a control plane's etcd member alone; its control plane starts it again (the etcd
 * supervisor's back-off). While it is down, writes go on through the API and are counted; once it
 * answers, it must reach the revision the other members had at that moment.
 */
const etcdKill: FaultKind = {
  kind: "etcd-kill",
  weight: 15,
  targets: (h) => h.controlPlanes,
  holdMs: 0,
  controlPlaneBlip: true,
  start: async (ctx, target) => {
    const observer = observerFor(ctx, target);
    const leader = (await memberStatus(ctx.lab, observer, target))?.leader ?? false;
    const killedAt = Date.now();
    process.kill(await etcdPid(ctx.lab, target), "SIGKILL");
    const writes = { acked: 0, failed: 0 };
    let down = true;
    const probes = (async () => {
      for (let i = 0; down; i++) {
        const name = `etcd-down-${killedAt}-${i}`;
        const res = await ctx.lab.apply(
          JSON.stringify({
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name, namespace: ctx.namespace },
          }),
        );
        if (res.code === 0) writes.acked++;
        else writes.failed++;
        await sleep(200);
      }
    })();
    return {
      end: async () => {
        const back = await within(memberBoundMs, () => memberStatus(ctx.lab, observer, target));
        down = false;
        await probes;
        const detail: FaultDetail = {
          leader,
          writesAckedWhileDown: writes.acked,
          writesFailedWhileDown: writes.failed,
        };
        if (!back) return { ...detail, back: false };
        const backAt = Date.now();
        const others = ctx.hosts.controlPlanes.filter((h) => h !== target);
        const revisions = await Promise.all(others.map((h) => memberStatus(ctx.lab, observer, h)));
        const reference = Math.max(...revisions.map((s) => s?.revision ?? 0));
        const caughtUp = await within(memberBoundMs, async () => {
          const s = await memberStatus(ctx.lab, observer, target);
          return s && s.revision >= reference ? s : undefined;
        });
        return {
          ...detail,
          back: true,
          downMs: backAt - killedAt,
          caughtUp: caughtUp !== undefined,
          catchUpMs: Date.now() - backAt,
        };
      },
    };
  },
};

const linkCut: FaultKind = {
  kind: "link-cut",
  weight: 20,
  targets: (h) => h.workers,
  holdMs: 15_000,
  start: async (ctx, target) => {
    // The cable, not the host's own eth0: setting eth0 down makes the kernel drop the host's
    // default route, which nothing in a lab puts back.
    await pullCable(ctx.lab, target);
    return {
      end: async () => {
        await plugCable(ctx.lab, target);
        return {};
      },
    };
  },
};

const stressSeconds = 20;

/** Every core of one host busy for 20 s; how often its agent fenced meanwhile (it must not). */
const cpuStress: FaultKind = {
  kind: "cpu-stress",
  weight: 15,
  targets: allHosts,
  holdMs: stressSeconds * 1000,
  start: async (ctx, target) => {
    const labDir = ctx.lab.state.labDir;
    const started = Date.now();
    const stress = await stressCpu(labDir, target, stressSeconds);
    return {
      end: async () => {
        await stress.stop();
        return { fences: (await fenceTimesOf(labDir, target)).filter((t) => t >= started).length };
      },
    };
  },
};

/** A slow disk: about a floppy's speed, so each WAL fsync waits for its share of 20 writes a second. */
export const slowDiskLimit: WriteLimit = { bytesPerSecond: 1 << 20, opsPerSecond: 20 };

interface FsyncTotals {
  count: number;
  seconds: number;
}

/** etcd's WAL fsync histogram totals, from its metrics; zero when the member does not answer. */
async function walFsyncs(ctx: FaultContext, member: string): Promise<FsyncTotals> {
  const text = await memberMetrics(ctx.lab, member, member);
  const total = (suffix: string) =>
    Number(new RegExp(`^etcd_disk_wal_fsync_duration_seconds_${suffix} (\\S+)$`, "m").exec(text)?.[1] ?? 0);
  return { count: total("count"), seconds: total("sum") };
}

const meanMs = (t: FsyncTotals) => (t.count ? Math.round((t.seconds / t.count) * 10_000) / 10 : 0);

/** Writes of one control plane (its etcd member's WAL and fsyncs) throttled for 20 s. */
const slowDisk: FaultKind = {
  kind: "slow-disk",
  weight: 10,
  targets: (h) => h.controlPlanes,
  holdMs: 20_000,
  start: async (ctx, target) => {
    const state = await readLabState(ctx.lab.state.labDir);
    const record = state?.processes.find((p) => p.name === controlPlaneOn(target));
    if (!record) throw new Error(`slow disk: no control plane process on ${target}`);
    const dir = blkioDir(record.cgroups);
    const device = await diskOf(`${controlPlaneState(ctx.lab, target)}/etcd`);
    const before = await walFsyncs(ctx, target);
    await throttleWrites(dir, device, slowDiskLimit);
    return {
      end: async () => {
        const during = await walFsyncs(ctx, target);
        await throttleWrites(dir, device, unthrottled);
        const delta = { count: during.count - before.count, seconds: during.seconds - before.seconds };
        return {
          device,
          walFsyncs: delta.count,
          walFsyncMeanMsBefore: meanMs(before),
          walFsyncMeanMsDuring: meanMs(delta),
        };
      },
    };
  },
};

export const faultTable: readonly FaultKind[] = [
  agentKill,
  controlPlaneKill,
  etcdKill,
  linkCut,
  cpuStress,
  slowDisk,
];

/** A kind by weight, then one of its targets, both from `random` (the soak's seeded generator). */
export function drawFault(
  table: readonly FaultKind[],
  hosts: SoakHosts,
  random: () => number,
): { fault: FaultKind; target: string } {
  const total = table.reduce((sum, f) => sum + f.weight, 0);
  const r = random() * total;
  let below = 0;
  const fault =
    table.find((f) => {
      below += f.weight;
      return r < below;
    }) ?? table.at(-1)!;
  const targets = fault.targets(hosts);
  return { fault, target: targets[Math.floor(random() * targets.length)]! };
}
