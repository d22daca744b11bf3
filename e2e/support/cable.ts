/**
 * A lab host's cable pulled and plugged back: the lab-side end of the host's link goes down, so
 * the host's `eth0` loses carrier with its addresses and routes in place, as when a cable is pulled
 * or a switch port dies. (`ip link set eth0 down` on the host is another fault, an administrator's:
 * the kernel then deletes every route through the link, the default route included.)
 */
import { bridgePortName } from "../../kctl/lab/lab-names.js";
import { runCommand } from "../../kctl/lab/run-command.js";
import type { LabCluster } from "./lab-cluster.js";

async function setCable(lab: LabCluster, node: string, state: "up" | "down"): Promise<void> {
  const index = lab.state.nodes.findIndex((n) => n.name === node);
  if (index < 0 || !lab.state.labNamespace) throw new Error(`no host ${node} in lab ${lab.state.name}`);
  const argv = ["ip", "-n", lab.state.labNamespace, "link", "set", bridgePortName(index + 1), state];
  const res = await runCommand(argv);
  if (res.code !== 0) throw new Error(`${argv.join(" ")}: ${res.stderr.trim()}`);
}

export const pullCable = (lab: LabCluster, node: string) => setCable(lab, node, "down");
export const plugCable = (lab: LabCluster, node: string) => setCable(lab, node, "up");
