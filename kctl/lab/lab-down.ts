/**
 * `lab down`: removes a lab by name, whatever state it is in. With no state file (lost, or `lab up`
 * killed before writing one) the lab's naming convention still finds its namespaces, root link and
 * cgroups. Running it twice, or on a lab that never existed, succeeds and does nothing.
 */
import { validateLabName } from "./lab-names.js";
import {
  DEFAULT_REGISTRY_DIR,
  type LabState,
  type LabTarget,
  locateLabDir,
  readLabState,
} from "./lab-state.js";
import { teardownLab } from "./teardown.js";

export interface LabDownOptions extends LabTarget {
  /** How long processes get between SIGTERM and SIGKILL; 10 s by default. */
  graceMs?: number;
}

export async function labDown(opts: LabDownOptions): Promise<void> {
  validateLabName(opts.name);
  const labDir = await locateLabDir(opts);
  const state: LabState = (await readLabState(labDir)) ?? {
    version: 1,
    name: opts.name,
    labDir,
    phase: "creating",
    createdAt: new Date().toISOString(),
    nodeCount: 0,
    components: "none",
    token: "",
    nodes: [],
    cgroups: [],
    processes: [],
    ports: {},
  };
  await teardownLab(state, {
    graceMs: opts.graceMs ?? 10_000,
    byName: true,
    registryDir: opts.registryDir ?? DEFAULT_REGISTRY_DIR,
  });
}
