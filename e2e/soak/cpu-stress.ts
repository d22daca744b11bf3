/**
 * A lab host's CPU saturated: Debian's `stress-ng` (one CPU hog per core, bounded by its own
 * `--timeout`) started as the lab starts its components, in the host's network namespace and in
 * the host agent's cgroups, so it competes with that agent and its pods (the pods' cgroups are
 * beneath the agent's) and not with the rest of the lab or the machine beyond the lab's share.
 * `lab down` would find it in the lab's cgroups if it outlived everything else.
 */
import { availableParallelism } from "node:os";
import { componentLogFile, componentStateDir, readLabState } from "../../kctl/lab/lab-state.js";
import { type StartedComponent, startComponent, stopProcesses } from "../../kctl/lab/processes.js";

export const STRESS_NG = "/usr/bin/stress-ng";

export interface CpuStress {
  /** Stops it if its timeout has not already (SIGTERM by pid: stress-ng then stops its hogs), and waits. */
  stop(): Promise<void>;
}

export async function stressCpu(labDir: string, node: string, seconds: number): Promise<CpuStress> {
  const state = await readLabState(labDir);
  const host = state?.nodes.find((n) => n.name === node);
  const agent = state?.processes.find((p) => p.name === node);
  if (!host || !agent) throw new Error(`cpu stress: lab ${labDir} has no host ${node} with an agent`);
  const name = `stress-${node}`;
  const started: StartedComponent = await startComponent({
    name,
    spec: {
      argv: [STRESS_NG, "--cpu", String(availableParallelism()), "--timeout", `${seconds}s`, "--quiet"],
    },
    namespace: host.namespace,
    stateDir: componentStateDir(labDir, node),
    logFile: componentLogFile(labDir, name),
    cgroups: agent.cgroups,
  });
  return {
    stop: async () => {
      await Promise.race([started.exited, new Promise((r) => setTimeout(r, 5_000))]);
      await stopProcesses([started.record], 3_000);
    },
  };
}
