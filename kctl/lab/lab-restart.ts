/**
 * Restarting one component of a running lab (a node's agent or the control plane), as the e2e
 * scenarios need: "agent killed and restarted keeps its containers", "control plane killed and
 * restarted loses nothing". Only the recorded process is signalled; what it started (containers,
 * etcd) stays in the lab's cgroups for the new process to adopt, and `lab down` still finds it.
 */
import { CONTROL_PLANE, type LabComponents } from "./components.js";
import { LabError } from "./errors.js";
import { labNamespace } from "./lab-names.js";
import { type LabTarget, locateLabDir, readLabState } from "./lab-state.js";
import { labContext, launchComponent } from "./lab-up.js";
import { type StartedComponent, stopProcesses } from "./processes.js";

export interface RestartOptions extends LabTarget {
  /** `controlplane`, a node name, or a component of the control plane tier (e.g. `controlplane-node2`). */
  component: string;
  components: LabComponents;
  /** 0 kills at once (SIGKILL, like a crash); otherwise SIGTERM and this long before SIGKILL. */
  graceMs: number;
}

/** Stops `opts.component` if it runs, starts it again from the hook, and records the new pid. */
export async function restartComponent(opts: RestartOptions): Promise<StartedComponent> {
  const state = await readLabState(await locateLabDir(opts));
  if (!state) throw new LabError("NotFound", `lab ${opts.name} does not exist`);
  const ctx = labContext(state);
  const placed = opts.components.controlPlaneComponents?.(ctx).find((c) => c.name === opts.component);
  const node = placed ? placed.node : state.nodes.find((n) => n.name === opts.component);
  const spec = placed
    ? placed.spec
    : opts.component === CONTROL_PLANE
      ? opts.components.controlPlane?.(ctx)
      : node && opts.components.agent?.(ctx, node);
  if (!spec) {
    throw new LabError(
      "NotFound",
      `lab ${opts.name} has no component "${opts.component}" in profile ${opts.components.profile}`,
    );
  }
  const old = state.processes.filter((p) => p.name === opts.component);
  await stopProcesses(old, opts.graceMs);
  const namespace = node ? node.namespace : labNamespace(state.name);
  return launchComponent(state, opts.component, namespace, spec);
}
