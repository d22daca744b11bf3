/**
 * Loses a lab host for good, as a power cut would: its agent and its containers' shims and
 * processes killed with SIGKILL, then its link cut, so nothing of it answers or reports again.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { LabCluster } from "./lab-cluster.js";

/** The shims of a host's containers: each container's pid and its monitor's. */
export async function shimsOn(
  lab: LabCluster,
  node: string,
): Promise<{ id: string; pid: number; monitorPid: number }[]> {
  const runtime = join(lab.state.labDir, "state", node, "runtime");
  const shims: { id: string; pid: number; monitorPid: number }[] = [];
  for (const id of (await readdir(runtime)).filter((e) => !e.startsWith("."))) {
    // A container being removed may have lost its shim.json already.
    const shim = JSON.parse(await readFile(join(runtime, id, "shim.json"), "utf8").catch(() => "{}")) as {
      pid?: number;
      monitorPid?: number;
    };
    if (shim.pid && shim.monitorPid) shims.push({ id, pid: shim.pid, monitorPid: shim.monitorPid });
  }
  return shims;
}

export async function loseHost(lab: LabCluster, node: string): Promise<void> {
  const agent = lab.state.processes.find((p) => p.name === node);
  if (!agent) throw new Error(`no agent process for ${node} in lab ${lab.state.name}`);
  process.kill(agent.pid, "SIGKILL");
  for (const shim of await shimsOn(lab, node)) {
    for (const pid of [shim.monitorPid, shim.pid]) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  const cut = await lab.onNode(node, "ip", "link", "set", "eth0", "down");
  if (cut.code !== 0) throw new Error(`cutting ${node}'s link failed: ${cut.stderr}`);
}
