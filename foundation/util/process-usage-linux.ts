/**
 * What a process has used so far, read from /proc (for the benchmarks that report the CPU and
 * memory of the control plane, etcd or an agent). Every reader returns 0 for a process that is gone.
 */
import { readFile } from "node:fs/promises";

/** USER_HZ; 100 on every Linux this runs on (sysconf is not reachable from Node). */
const clockTicks = 100;

export interface CpuSeconds {
  /** user + system time of the process itself. */
  own: number;
  /** user + system time of its children that it has waited for (the tools and runtime it ran). */
  children: number;
}

/** CPU seconds of `pid` and of its reaped children, from /proc/<pid>/stat. */
export async function cpuSecondsOf(pid: number | undefined): Promise<CpuSeconds> {
  if (!pid) return { own: 0, children: 0 };
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name: state is 3rd, utime 14th, stime 15th, cutime 16th, cstime
    // 17th (1-based, whole line).
    const f = stat
      .slice(stat.lastIndexOf(")") + 2)
      .split(" ")
      .map(Number);
    return { own: (f[11]! + f[12]!) / clockTicks, children: (f[13]! + f[14]!) / clockTicks };
  } catch {
    return { own: 0, children: 0 };
  }
}

export interface ResidentMiB {
  /** VmRSS. */
  total: number;
  /** RssAnon: the heaps (V8's and malloc's), private to the process. */
  anon: number;
  /** RssFile: mapped files, mostly the executable's pages, which every process running it shares. */
  file: number;
}

/** Resident memory of `pid` in MiB, rounded; zeros when it is gone. */
export async function residentMiB(pid: number | undefined): Promise<ResidentMiB> {
  let status = "";
  if (pid) status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const mib = (field: string) =>
    Math.round(Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024);
  return { total: mib("VmRSS"), anon: mib("RssAnon"), file: mib("RssFile") };
}

/** Resident memory of `pid` in MiB (VmRSS), rounded. */
export async function rssMiB(pid: number | undefined): Promise<number> {
  return (await residentMiB(pid)).total;
}
