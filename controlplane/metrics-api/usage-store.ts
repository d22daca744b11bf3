/**
 * The control plane's memory of the agents' usage reports (metrics-server's storage): the last two
 * samples of each node and of each container of each pod, from which it gives CPU as a rate over
 * the window between them and memory as the latest working set. Nothing here reaches etcd; a
 * control plane that restarts learns again within two report periods, as metrics-server does.
 *
 * A node's report replaces everything it said about its pods: a pod it no longer lists has no
 * metrics. Entries of a node that stops reporting expire after `maxAgeMs`.
 */
import type { NodeStatsReport, ResourceUsage } from "../../proto/gen/node.js";

/** One resource usage over a window: CPU in nanocores, memory in bytes. */
export interface UsagePoint {
  /** End of the window (the newer sample), ms since the epoch. */
  timestampMs: number;
  windowMs: number;
  cpuNanoCores: number;
  memoryBytes: number;
}

export interface PodUsage {
  namespace: string;
  name: string;
  uid: string;
  node: string;
  timestampMs: number;
  windowMs: number;
  containers: { name: string; usage: UsagePoint }[];
}

interface Samples {
  prev?: ResourceUsage;
  last: ResourceUsage;
}

interface PodEntry {
  uid: string;
  node: string;
  containers: Map<string, Samples>;
}

/**
 * The rate between two cumulative samples, or undefined when there is no window yet or the counter
 * went back (the container restarted: its new cgroup counts from zero). 1 µs of CPU per ms of wall
 * time is one thousandth of a core: nanocores = ΔcpuMicros × 10⁶ / Δms.
 */
export function usagePoint(s: Samples): UsagePoint | undefined {
  const { prev, last } = s;
  if (!prev) return undefined;
  const windowMs = last.timestampMs - prev.timestampMs;
  const cpu = last.cpuUsageMicroseconds - prev.cpuUsageMicroseconds;
  if (windowMs <= 0 || cpu < 0) return undefined;
  return {
    timestampMs: last.timestampMs,
    windowMs,
    cpuNanoCores: Math.round((cpu * 1_000_000) / windowMs),
    memoryBytes: last.memoryWorkingSetBytes,
  };
}

function advance(old: Samples | undefined, next: ResourceUsage): Samples {
  // A sample not newer than the last (a report resent) keeps the pair as it was.
  if (old && next.timestampMs <= old.last.timestampMs) return old;
  return old ? { prev: old.last, last: next } : { last: next };
}

export class UsageStore {
  private readonly nodes = new Map<string, { samples?: Samples; receivedMs: number }>();
  private readonly pods = new Map<string, PodEntry>();

  constructor(
    private readonly now: () => number,
    /** Entries older than this (from their last report) are forgotten. */
    private readonly maxAgeMs = 120_000,
  ) {}

  /** Stores a report from `node`; its pods must already be checked as the node's own. */
  record(node: string, report: NodeStatsReport): void {
    const receivedMs = this.now();
    const old = this.nodes.get(node)?.samples;
    const samples = report.usage ? advance(old, report.usage) : old;
    this.nodes.set(node, { ...(samples ? { samples } : {}), receivedMs });
    const reported = new Set<string>();
    for (const pod of report.pods) {
      const key = `${pod.namespace}/${pod.name}`;
      reported.add(key);
      const old = this.pods.get(key);
      const same = old && old.uid === pod.uid && old.node === node ? old : undefined;
      const containers = new Map<string, Samples>();
      for (const c of pod.containers) {
        if (c.usage) containers.set(c.name, advance(same?.containers.get(c.name), c.usage));
      }
      this.pods.set(key, { uid: pod.uid, node, containers });
    }
    for (const [key, entry] of this.pods) {
      if (entry.node === node && !reported.has(key)) this.pods.delete(key);
    }
    this.expire();
  }

  node(name: string): UsagePoint | undefined {
    this.expire();
    const entry = this.nodes.get(name);
    return entry?.samples ? usagePoint(entry.samples) : undefined;
  }

  /** A pod's usage once every container it reported has a window; undefined before. */
  pod(namespace: string, name: string): PodUsage | undefined {
    this.expire();
    const entry = this.pods.get(`${namespace}/${name}`);
    if (!entry || entry.containers.size === 0) return undefined;
    const containers: PodUsage["containers"] = [];
    for (const [cname, samples] of entry.containers) {
      const usage = usagePoint(samples);
      if (!usage) return undefined;
      containers.push({ name: cname, usage });
    }
    const newest = containers.reduce((a, c) => (c.usage.timestampMs > a.usage.timestampMs ? c : a));
    return {
      namespace,
      name,
      uid: entry.uid,
      node: entry.node,
      timestampMs: newest.usage.timestampMs,
      windowMs: newest.usage.windowMs,
      containers,
    };
  }

  /** Every pod with usage, optionally in one namespace. */
  listPods(namespace?: string): PodUsage[] {
    const out: PodUsage[] = [];
    for (const key of [...this.pods.keys()]) {
      const [ns = "", name = ""] = key.split("/");
      if (namespace !== undefined && ns !== namespace) continue;
      const usage = this.pod(ns, name);
      if (usage) out.push(usage);
    }
    return out;
  }

  listNodes(): { name: string; usage: UsagePoint }[] {
    this.expire();
    return [...this.nodes.keys()].flatMap((name) => {
      const usage = this.node(name);
      return usage ? [{ name, usage }] : [];
    });
  }

  private expire(): void {
    const cutoff = this.now() - this.maxAgeMs;
    for (const [name, entry] of this.nodes) {
      if (entry.receivedMs >= cutoff) continue;
      this.nodes.delete(name);
      for (const [key, pod] of this.pods) if (pod.node === name) this.pods.delete(key);
    }
  }
}
