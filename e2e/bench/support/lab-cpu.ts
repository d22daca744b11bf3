/**
 * Where a lab's CPU goes, component by component: for each process the lab started (control plane,
 * registry, each host's agent) the CPU of its whole cgroup subtree (itself, what it spawned, and
 * for an agent its containers' monitors and containers, whose cgroups lie beneath its own), its own
 * time, its reaped children's, and for the control plane etcd's (a child that lives as long as it).
 * Read twice, around a phase of a benchmark, the difference says what the phase cost each part.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { cpuSecondsOf } from "../../../foundation/util/process-usage-linux.js";
import { pidsIn } from "../../../kctl/lab/cgroups-linux.js";
import type { LabState } from "../../../kctl/lab/lab-state.js";

export interface ComponentCpu {
  /** Everything in the component's cgroup subtree, seconds. */
  subtree: number;
  /** The component's own process. */
  own: number;
  /** Its children it has reaped (tools, runtime calls). */
  children: number;
  /** etcd's own time, for the control plane (a child it has not reaped). */
  etcd?: number;
}

export type LabCpu = Record<string, ComponentCpu>;

/** CPU seconds used in the cgroup subtree `dir` (cpuacct on v1, cpu.stat on v2), 0 when unreadable. */
async function subtreeSeconds(dirs: readonly string[]): Promise<number> {
  for (const dir of dirs) {
    const v1 = await readFile(join(dir, "cpuacct.usage"), "utf8").catch(() => undefined);
    if (v1 !== undefined) return Number(v1) / 1e9;
  }
  for (const dir of dirs) {
    const v2 = await readFile(join(dir, "cpu.stat"), "utf8").catch(() => undefined);
    const usec = v2 && /^usage_usec (\d+)$/m.exec(v2)?.[1];
    if (usec) return Number(usec) / 1e6;
  }
  return 0;
}

/** The pid of the process named `comm` in the subtrees `dirs`, if one runs there. */
async function pidNamed(dirs: readonly string[], comm: string): Promise<number | undefined> {
  for (const dir of dirs) {
    for (const pid of await pidsIn(dir)) {
      const name = await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "");
      if (name.trim() === comm) return pid;
    }
  }
  return undefined;
}

export async function labCpu(state: LabState): Promise<LabCpu> {
  const out: LabCpu = {};
  for (const p of state.processes) {
    const [subtree, own] = await Promise.all([subtreeSeconds(p.cgroups), cpuSecondsOf(p.pid)]);
    const etcdPid = p.name === "controlplane" ? await pidNamed(p.cgroups, "etcd") : undefined;
    out[p.name] = {
      subtree,
      own: own.own,
      children: own.children,
      ...(etcdPid ? { etcd: (await cpuSecondsOf(etcdPid)).own } : {}),
    };
  }
  return out;
}

const ms = (seconds: number, pods: number) => Math.round((seconds * 10_000) / pods) / 10;

/**
 * CPU ms per pod of each component between two readings: own, reaped children, etcd (control
 * plane), and `other`, the rest of the subtree (an agent's container monitors and containers, tools
 * not yet reaped); `total` the subtree.
 */
export function labCpuMsPerPod(before: LabCpu, after: LabCpu, pods: number) {
  const out: Record<string, { total: number; own: number; children: number; etcd?: number; other: number }> =
    {};
  for (const [name, a] of Object.entries(after)) {
    const b = before[name];
    if (!b) continue;
    const total = a.subtree - b.subtree;
    const own = a.own - b.own;
    const children = a.children - b.children;
    const etcd = a.etcd !== undefined && b.etcd !== undefined ? a.etcd - b.etcd : undefined;
    out[name] = {
      total: ms(total, pods),
      own: ms(own, pods),
      children: ms(children, pods),
      ...(etcd !== undefined ? { etcd: ms(etcd, pods) } : {}),
      other: ms(total - own - children - (etcd ?? 0), pods),
    };
  }
  return out;
}

/** Busy CPU seconds of the whole machine so far (every process, this benchmark's lab or not). */
export async function machineBusySeconds(): Promise<number> {
  const line = (await readFile("/proc/stat", "utf8")).split("\n")[0] ?? "";
  // cpu user nice system idle iowait irq softirq steal ...: user, nice, system, irq and softirq are busy.
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  return [0, 1, 2, 5, 6].reduce((s, i) => s + (f[i] ?? 0), 0) / 100;
}
