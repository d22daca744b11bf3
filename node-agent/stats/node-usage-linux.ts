/**
 * The whole node's usage, from /proc as cAdvisor computes the root cgroup's on cgroup v2: CPU time
 * is every non-idle field of the aggregate `cpu` line of /proc/stat (user, nice, system, irq,
 * softirq, steal; guest time is already inside user and nice), and the working set is
 * MemTotal − MemFree − Inactive(file) from /proc/meminfo. Reading /proc works the same on v1, v2
 * and hybrid hosts, and does not depend on the cgroup the agent was started in.
 */
import { readFile } from "node:fs/promises";
import type { CgroupUsage } from "./cgroup-usage-linux.js";

/** USER_HZ: /proc/stat counts in ticks of 10 ms on every Linux architecture the agent runs on. */
const TICK_MICROSECONDS = 10_000;

/** CPU time in µs from the first (`cpu `) line of /proc/stat; undefined when it is not there. */
export function parseProcStatCpu(text: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) return undefined;
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const ticks = [user, nice, system, irq, softirq, steal].reduce<number>((sum, v) => sum + (v ?? 0), 0);
  return ticks * TICK_MICROSECONDS;
}

/** MemTotal − MemFree − Inactive(file), in bytes; undefined when a field is missing. */
export function parseMeminfoWorkingSet(text: string): number | undefined {
  const kib = (name: string) => {
    const m = new RegExp(`^${name.replace(/[()]/g, "\\$&")}:\\s+(\\d+) kB`, "m").exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const [total, free, inactiveFile] = [kib("MemTotal"), kib("MemFree"), kib("Inactive(file)")];
  if (total === undefined || free === undefined) return undefined;
  return Math.max(0, total - free - (inactiveFile ?? 0)) * 1024;
}

export async function nodeUsage(): Promise<CgroupUsage> {
  const [stat, meminfo] = await Promise.all([
    readFile("/proc/stat", "utf8").catch(() => ""),
    readFile("/proc/meminfo", "utf8").catch(() => ""),
  ]);
  const cpu = parseProcStatCpu(stat);
  const memory = parseMeminfoWorkingSet(meminfo);
  return {
    ...(cpu !== undefined ? { cpuUsageMicroseconds: cpu } : {}),
    ...(memory !== undefined ? { memoryWorkingSetBytes: memory } : {}),
  };
}
