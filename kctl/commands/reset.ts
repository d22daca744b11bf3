/**
 * `kctl reset [--state-dir DIR] --force`: removes what this host's node agent made (containers,
 * their cgroups, pod networks, the bridge, the nftables table, the routes to other nodes' pods, the
 * state dir), like `kubeadm reset`. Run it after stopping the agent (`systemctl stop kctl-agent`);
 * a running agent is refused. The Node object stays in the cluster: `kctl delete node NAME` there.
 */
import type { Command } from "../command.js";
import { UsageError } from "../errors.js";
import { resetNode } from "../reset/node-reset.js";
import { defaultAgentStateDir } from "./image.js";

export const resetCommand: Command = {
  usage: [
    "kctl reset --force [--state-dir DIR]",
    "",
    "Stop the agent first (systemctl stop kctl-agent). With kctl up, the agent's state dir is",
    "<up's state dir>/agent.",
  ].join("\n"),
  flags: [
    {
      name: "state-dir",
      kind: "string",
      placeholder: "DIR",
      help: `the agent's state dir (default ${defaultAgentStateDir})`,
    },
    { name: "force", short: "f", kind: "boolean", help: "really remove it all (required)" },
  ],
  async run(ctx) {
    if (ctx.positionals.length > 0)
      throw new UsageError(`reset takes no arguments, got "${ctx.positionals[0]}"`);
    const stateDir = ctx.flags.string("state-dir") ?? defaultAgentStateDir;
    if (!ctx.flags.bool("force"))
      throw new UsageError(
        `reset removes every container, pod network and file of the agent in ${stateDir}; add --force to do it`,
      );
    await resetNode({ stateDir, report: (line) => ctx.io.stdout.write(`${line}\n`) });
    return 0;
  },
};
