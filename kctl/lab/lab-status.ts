/**
 * `lab status`: the labs registered on this host with their subnet, nodes, control plane address
 * and whether each recorded process still runs.
 */
import { readdir } from "node:fs/promises";
import { DEFAULT_REGISTRY_DIR, type LabState, readLabState, registeredLabDir } from "./lab-state.js";
import { isRunning } from "./processes.js";

export interface ProcessStatus {
  name: string;
  pid: number;
  running: boolean;
}

export interface LabStatus {
  state: LabState;
  processes: ProcessStatus[];
}

export async function labStatus(registryDir = DEFAULT_REGISTRY_DIR): Promise<LabStatus[]> {
  const names = await readdir(registryDir).catch(() => [] as string[]);
  const result: LabStatus[] = [];
  for (const name of names.filter((n) => !n.startsWith(".")).sort()) {
    const dir = await registeredLabDir(registryDir, name);
    const state = dir ? await readLabState(dir) : undefined;
    if (!state) continue;
    const processes: ProcessStatus[] = [];
    for (const p of state.processes)
      processes.push({ name: p.name, pid: p.pid, running: await isRunning(p) });
    result.push({ state, processes });
  }
  return result;
}

/** A table for people: one row per lab. */
export function formatLabStatus(labs: readonly LabStatus[]): string {
  if (labs.length === 0) return "No labs.\n";
  const rows = [["NAME", "PHASE", "NODES", "SUBNET", "SERVER", "PROCESSES"]];
  for (const { state, processes } of labs) {
    const running = processes.filter((p) => p.running).length;
    rows.push([
      state.name,
      state.phase,
      String(state.nodes.length),
      state.addresses?.subnet ?? "-",
      state.server ?? "-",
      `${running}/${processes.length} running`,
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map(
      (r) =>
        `${r
          .map((c, i) => c.padEnd(widths[i]!))
          .join("  ")
          .trimEnd()}\n`,
    )
    .join("");
}
