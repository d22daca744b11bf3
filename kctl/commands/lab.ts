/**
 * `kctl lab up|down|exec|status`: a multi-host cluster on one machine, each host a network
 * namespace behind a lab bridge with no route out (see kctl/lab/README.md). This file only reads
 * the command line and prints; the lab itself is kctl/lab/.
 */
import type { Command, CommandContext } from "../command.js";
import { CliError, UsageError } from "../errors.js";
import { PROFILE_NAMES } from "../lab/components.js";
import { LabError } from "../lab/errors.js";
import { componentsWithControlPlanes } from "../lab/ha-components.js";
import { labDown } from "../lab/lab-down.js";
import { labExec } from "../lab/lab-exec.js";
import { DEFAULT_LAB_NAME } from "../lab/lab-names.js";
import type { LabState, LabTarget } from "../lab/lab-state.js";
import { formatLabStatus, labStatus } from "../lab/lab-status.js";
import { labUp } from "../lab/lab-up.js";

const SUBCOMMANDS = ["up", "down", "exec", "status"];

function target(ctx: CommandContext): LabTarget {
  const name = ctx.flags.string("name") ?? DEFAULT_LAB_NAME;
  const labDir = ctx.flags.string("state-dir");
  return labDir ? { name, labDir } : { name };
}

function describeLab(state: LabState): string {
  const a = state.addresses!;
  const subnets = state.subnets ?? 1;
  const network =
    subnets > 1
      ? `${subnets} routed subnets 10.${a.index}.0.0/24..10.${a.index}.${subnets - 1}.0/24`
      : `subnet ${a.subnet}`;
  const lines = [
    `lab ${state.name} is up: ${network}, gateway ${a.gateway}`,
    ...state.nodes.map((n) => `  ${n.name}  ${n.address}  (namespace ${n.namespace})`),
  ];
  if (state.server) lines.push(`control plane: ${state.server}`);
  if (state.registry)
    lines.push(
      `registry:      ${state.registry}  (plain HTTP; kctl image push REF ${state.registry}/NAME:TAG --plain-http)`,
    );
  if (state.clientConfig)
    lines.push(`kctl config:   ${state.clientConfig}  (export KCTL_CONFIG=${state.clientConfig})`);
  lines.push(`state and logs: ${state.labDir}`);
  lines.push(
    `run a command on a host: kctl lab exec${state.name === DEFAULT_LAB_NAME ? "" : ` --name ${state.name}`} node1 -- ip route`,
  );
  return `${lines.join("\n")}\n`;
}

function onlyPositionals(ctx: CommandContext, sub: string): void {
  if (ctx.positionals.length > 1) {
    throw new UsageError(`unexpected argument "${ctx.positionals[1]}": kctl lab ${sub} takes only flags`);
  }
}

async function up(ctx: CommandContext): Promise<number> {
  onlyPositionals(ctx, "up");
  const nodes = ctx.flags.int("nodes");
  if (nodes === undefined)
    throw new UsageError("--nodes is required: how many hosts the lab has, e.g. --nodes 3");
  const timeout = ctx.flags.int("timeout") ?? 120;
  if (timeout <= 0) throw new UsageError(`--timeout must be a positive number of seconds (got ${timeout})`);
  const subnets = ctx.flags.int("subnets");
  const state = await labUp({
    ...target(ctx),
    nodes,
    ...(subnets !== undefined ? { subnets } : {}),
    components: componentsWithControlPlanes(
      ctx.flags.string("components") ?? "all",
      ctx.flags.int("control-planes") ?? 1,
    ),
    readyTimeoutMs: timeout * 1000,
    signal: ctx.io.signal,
  });
  ctx.io.stdout.write(describeLab(state));
  return 0;
}

async function down(ctx: CommandContext): Promise<number> {
  onlyPositionals(ctx, "down");
  const t = target(ctx);
  await labDown(t);
  ctx.io.stdout.write(`lab ${t.name} removed\n`);
  return 0;
}

async function exec(ctx: CommandContext): Promise<number> {
  const [, node, ...argv] = ctx.positionals;
  if (node === undefined)
    throw new UsageError("kctl lab exec needs a node and a command: kctl lab exec NODE -- CMD...");
  return labExec({ ...target(ctx), node, argv });
}

async function status(ctx: CommandContext): Promise<number> {
  onlyPositionals(ctx, "status");
  const labs = await labStatus();
  const output = ctx.flags.string("output");
  ctx.io.stdout.write(output === "json" ? `${JSON.stringify(labs, null, 2)}\n` : formatLabStatus(labs));
  return 0;
}

export const labCommand: Command = {
  usage: [
    "kctl lab up [--name L] --nodes N [--components all|controlplane|none] [--state-dir DIR] [--timeout S]",
    "                   [--control-planes K] [--subnets S]",
    "       kctl lab down [--name L] [--state-dir DIR]",
    "       kctl lab exec [--name L] NODE -- CMD [ARG...]",
    "       kctl lab status [-o json]",
    "",
    "Examples:",
    '  kctl lab up --nodes 3                 # lab "lab": hosts node1..node3, control plane, agents',
    "  kctl lab exec node2 -- nft list ruleset",
    "  kctl lab up --nodes 4 --control-planes 3   # control planes on node1..node3, HAProxy in front",
    "  kctl lab up --name net --nodes 2 --components none   # network only",
    "  kctl lab up --nodes 3 --subnets 2     # node1, node3 on 10.k.0.0/24, node2 on 10.k.1.0/24, routed",
    "  kctl lab down",
  ].join("\n"),
  flags: [
    { name: "name", kind: "string", placeholder: "L", help: `the lab's name (default ${DEFAULT_LAB_NAME})` },
    { name: "nodes", kind: "int", placeholder: "N", help: "lab up: how many hosts" },
    {
      name: "subnets",
      kind: "int",
      placeholder: "S",
      help: "lab up: deal the hosts over S routed /24 subnets, so pod traffic between them takes the VXLAN overlay (default 1)",
    },
    {
      name: "components",
      kind: "string",
      choices: PROFILE_NAMES,
      placeholder: "SET",
      help: "lab up: what runs: all (default), controlplane (no agents), none (network only)",
    },
    {
      name: "state-dir",
      kind: "string",
      placeholder: "DIR",
      help: "the lab's directory (default /var/lib/kctl/labs/L)",
    },
    {
      name: "control-planes",
      kind: "int",
      placeholder: "K",
      help: "lab up: K control planes on hosts node1..nodeK with a K-member etcd, behind HAProxy at the gateway (default 1)",
    },
    {
      name: "timeout",
      kind: "int",
      placeholder: "S",
      help: "lab up: seconds to wait for readiness (default 120)",
    },
    {
      name: "output",
      short: "o",
      kind: "string",
      choices: ["json"],
      placeholder: "FORMAT",
      help: "lab status: json",
    },
  ],
  async run(ctx) {
    const sub = ctx.positionals[0];
    if (sub === undefined || !SUBCOMMANDS.includes(sub)) {
      throw new UsageError(
        sub === undefined
          ? "kctl lab needs a subcommand: up, down, exec or status"
          : `unknown lab subcommand "${sub}"`,
      );
    }
    if (process.getuid?.() !== 0)
      throw new CliError("kctl lab must run as root (it creates network namespaces)");
    try {
      if (sub === "up") return await up(ctx);
      if (sub === "down") return await down(ctx);
      if (sub === "exec") return await exec(ctx);
      return await status(ctx);
    } catch (err) {
      if (err instanceof LabError && err.code === "InvalidArgument") throw new UsageError(err.message);
      throw err;
    }
  },
};
