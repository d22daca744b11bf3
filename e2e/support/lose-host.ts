/**
 * Loses a lab host for good, as a power cut would: its agent and its containers' shims and
 * processes killed with SIGKILL, then its link cut, so nothing of it answers or reports again.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { LabCluster } from "./lab-cluster.js";

export async function loseHost(lab: LabCluster, node: string): Promise<void> {
  const agent = lab.state.processes.find((p) => p.name === node);
  if (!agent) throw new Error(`no agent process for ${node} in lab ${lab.state.name}`);
  process.kill(agent.pid, "SIGKILL");
  const runtime = join(lab.state.labDir, "state", node, "runtime");
  for (const id of (await readdir(runtime)).filter((e) => !e.startsWith("."))) {
    const shim = JSON.parse(await readFile(join(runtime, id, "shim.json"), "utf8")) as {
      pid: number;
      monitorPid: number;
    };
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
