/**
 * Undoes a lab, from a complete state file, a half-written one, or none at all: processes by pid,
 * stragglers by cgroup, mounts beneath the lab dir, the root-side veth, the host and lab namespaces
 * (their interfaces, routes and nft tables go with them), the cgroup subtrees, and the files the lab
 * wrote. Every step runs even when an earlier one failed; what could not be undone is reported
 * together at the end, and the state file is kept then so that a retry knows what is left.
 */
import { existsSync } from "node:fs";
import { readdir, rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { tracer } from "../../foundation/util/trace.js";
import { ownHierarchies } from "../../node-agent/cgroups/hierarchies-linux.js";
import { killCgroupProcesses, removeCgroupTree } from "./cgroups-linux.js";
import { LabError } from "./errors.js";
import { hostNamespacePattern, labCgroupName, labNamespace, rootVethName } from "./lab-names.js";
import { COMPONENTS_DIR, type LabState, LOGS_DIR, removeLabState, unregisterLab } from "./lab-state.js";
import { currentMountsBeneath, unmountBeneath } from "./mounts-linux.js";
import { stopProcesses } from "./processes.js";
import { deleteNamespace, deleteRootLink, listNamespaces } from "./topology-linux.js";

export interface TeardownOptions {
  /** How long processes get between SIGTERM and SIGKILL. */
  graceMs: number;
  /**
   * Also remove what the lab's naming convention says belongs to it but the state does not list
   * (`lab down` after a lost or partial state file). Off when rolling back a failed `lab up`, which
   * must undo only what it made itself.
   */
  byName: boolean;
  registryDir: string;
}

async function namesOfLab(
  state: LabState,
  byName: boolean,
): Promise<{ namespaces: string[]; cgroups: string[] }> {
  const namespaces = new Set(state.nodes.map((n) => n.namespace));
  const cgroups = new Set(state.cgroups);
  if (state.labNamespace) namespaces.add(state.labNamespace);
  if (byName) {
    const pattern = hostNamespacePattern(state.name);
    for (const ns of await listNamespaces()) {
      if (pattern.test(ns) || ns === labNamespace(state.name)) namespaces.add(ns);
    }
    for (const h of await ownHierarchies()) {
      const dir = join(h.ownDir, labCgroupName(state.name));
      if (existsSync(dir)) cgroups.add(dir);
    }
  }
  // Hosts first: their veths hang off the lab bridge.
  const lab = labNamespace(state.name);
  return {
    namespaces: [...namespaces].sort((a, b) => Number(a === lab) - Number(b === lab)),
    cgroups: [...cgroups],
  };
}

// Removes what the lab wrote in its dir (component state dirs, logs, then the state file) and the
// dir itself if nothing else is in it. Files the lab did not write are left where they are.
async function removeLabFiles(state: LabState): Promise<void> {
  if (!existsSync(state.labDir)) return;
  const mounted = await currentMountsBeneath(state.labDir);
  if (mounted.length > 0) {
    throw new LabError(
      "CleanupIncomplete",
      `not removing ${state.labDir}: still mounted: ${mounted.join(", ")}`,
    );
  }
  for (const sub of [COMPONENTS_DIR, LOGS_DIR])
    await rm(join(state.labDir, sub), { recursive: true, force: true });
  await removeLabState(state.labDir);
  if ((await readdir(state.labDir)).length === 0) await rmdir(state.labDir);
}

const trace = tracer("lab");

export async function teardownLab(state: LabState, opts: TeardownOptions): Promise<void> {
  const failures: string[] = [];
  const step = async (what: string, fn: () => Promise<void>): Promise<void> => {
    trace(`${state.name}: ${what}`);
    try {
      await fn();
    } catch (err) {
      failures.push(`${what}: ${(err as Error).message}`);
    }
  };
  const { namespaces, cgroups } = await namesOfLab(state, opts.byName);

  await step("stop processes", () => stopProcesses(state.processes, opts.graceMs));
  await step("kill processes left in the lab's cgroups", () => killCgroupProcesses(cgroups));
  await step("unmount", () => unmountBeneath(state.labDir));
  const veth = state.rootVeth ?? (opts.byName ? rootVethName(state.name) : undefined);
  if (veth) await step(`delete link ${veth}`, () => deleteRootLink(veth));
  for (const ns of namespaces) await step(`delete namespace ${ns}`, () => deleteNamespace(ns));
  for (const dir of cgroups) await step(`remove cgroup ${dir}`, () => removeCgroupTree(dir));
  if (failures.length > 0) {
    throw new LabError(
      "CleanupIncomplete",
      `lab ${state.name} not fully removed:\n  ${failures.join("\n  ")}`,
    );
  }
  await step("remove files", () => removeLabFiles(state));
  await step("unregister", () => unregisterLab(opts.registryDir, state.name));
  if (failures.length > 0) {
    throw new LabError(
      "CleanupIncomplete",
      `lab ${state.name} not fully removed:\n  ${failures.join("\n  ")}`,
    );
  }
}
