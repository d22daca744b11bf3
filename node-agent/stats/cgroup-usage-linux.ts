/**
 * Reads one cgroup's resource usage from cgroupfs, as cAdvisor does for the kubelet: cumulative CPU
 * time (`cpuacct.usage` on v1, `usage_usec` of `cpu.stat` on v2) and the memory working set
 * (usage minus inactive file pages, which the kernel reclaims first, so they do not count as what
 * the workload needs). Files that are missing (a controller not delegated, a cgroup just removed)
 * leave that figure out rather than failing the sample.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { UsageDir } from "../cgroups/pod-cgroups.js";

export interface CgroupUsage {
  cpuUsageMicroseconds?: number;
  memoryWorkingSetBytes?: number;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

/** `key value` lines (cpu.stat, memory.stat) as a map. */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const [key, value] = line.split(" ");
    if (key && value !== undefined) out.set(key, Number(value));
  }
  return out;
}

export async function cpuUsageMicroseconds(cpu: UsageDir): Promise<number | undefined> {
  if (cpu.version === 1) {
    const ns = await readText(join(cpu.dir, "cpuacct.usage"));
    return ns === undefined ? undefined : Math.floor(Number(ns.trim()) / 1000);
  }
  const stat = await readText(join(cpu.dir, "cpu.stat"));
  return stat === undefined ? undefined : parseFlatKeyed(stat).get("usage_usec");
}

/**
 * Working set = usage − inactive_file, floored at 0. On v1 the hierarchical `total_inactive_file`
 * is the one that matches `memory.usage_in_bytes` (which counts descendants), as cAdvisor reads it.
 */
export async function memoryWorkingSetBytes(memory: UsageDir): Promise<number | undefined> {
  const [usageFile, inactiveKey] =
    memory.version === 1
      ? ["memory.usage_in_bytes", "total_inactive_file"]
      : ["memory.current", "inactive_file"];
  const [usage, stat] = await Promise.all([
    readText(join(memory.dir, usageFile)),
    readText(join(memory.dir, "memory.stat")),
  ]);
  if (usage === undefined) return undefined;
  const inactive = stat === undefined ? 0 : (parseFlatKeyed(stat).get(inactiveKey) ?? 0);
  return Math.max(0, Number(usage.trim()) - inactive);
}

export async function cgroupUsage(cpu: UsageDir, memory: UsageDir): Promise<CgroupUsage> {
  const [cpuUs, workingSet] = await Promise.all([cpuUsageMicroseconds(cpu), memoryWorkingSetBytes(memory)]);
  return {
    ...(cpuUs !== undefined && Number.isFinite(cpuUs) ? { cpuUsageMicroseconds: cpuUs } : {}),
    ...(workingSet !== undefined && Number.isFinite(workingSet) ? { memoryWorkingSetBytes: workingSet } : {}),
  };
}
