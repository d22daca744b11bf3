/**
 * `KCTL_TOKEN=T kctl join SERVER --ca-cert-hash sha256:H` (or `--token-file PATH`): makes this host
 * a node of the cluster and runs its agent in the foreground. The first run trades the bootstrap
 * token for a node certificate (kept in the state dir); later runs reuse it, so a restarted agent
 * needs no token and adopts the containers that kept running. The token is never taken from the
 * command line, where every user of the host can read it (`ps`, /proc/PID/cmdline).
 */
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { nodeNameFromHostname } from "../../foundation/bootstrap/node-names.js";
import { setServerHeapGrowth } from "../../foundation/util/heap-growth.js";
import { startAgent } from "../../node-agent/agent/agent.js";
import { loadIdentity, saveIdentity } from "../../node-agent/agent/credentials.js";
import { joinCluster } from "../../node-agent/agent/join.js";
import { lockAgentState } from "../../node-agent/agent/state-lock.js";
import type { Command } from "../command.js";
import { UsageError } from "../errors.js";
import {
  containerLogMaxFilesFlag,
  containerLogMaxSizeFlag,
  logRotationOption,
} from "./container-log-flags.js";
import { defaultAgentStateDir } from "./image.js";
import { imageGcFlags, imageGcOption } from "./image-gc-flags.js";
import { podPidsLimitFlag, podPidsLimitOption } from "./pod-pids-limit-flag.js";
import { registryConfigFlag, registryConfigOption } from "./registry-config-flag.js";

/**
 * The bootstrap token from `--token-file` or `KCTL_TOKEN`. `--token` is refused: a token on the
 * command line is readable by every user of the host for as long as the agent runs.
 */
export async function joinToken(
  tokenFile: string | undefined,
  onCommandLine: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  if (onCommandLine !== undefined) {
    throw new UsageError(
      "--token: a token on the command line is visible to every user of this host (ps); " +
        "put it in a file for --token-file or in the KCTL_TOKEN environment variable",
    );
  }
  if (tokenFile !== undefined) {
    const text = await readFile(tokenFile, "utf8").catch((err: Error) => {
      throw new UsageError(`--token-file ${tokenFile}: ${err.message}`);
    });
    const token = text.trim();
    if (!token) throw new UsageError(`--token-file ${tokenFile}: the file is empty`);
    return token;
  }
  const token = env.KCTL_TOKEN?.trim();
  if (!token) {
    throw new UsageError(
      "a bootstrap token is required to join: --token-file PATH or KCTL_TOKEN (kctl token create prints one)",
    );
  }
  return token;
}

/**
 * The NodeService address the join answered with, then the same port on every other server's host
 * (each control plane serves NodeService beside its apiserver): the agent fails over among them.
 */
export function nodeServiceAddresses(joined: string, servers: readonly string[]): string {
  const port = joined.slice(joined.lastIndexOf(":") + 1);
  const others = servers.map((s) => `${new URL(s).hostname}:${port}`);
  return [...new Set([joined, ...others])].join(",");
}

export const joinCommand: Command = {
  usage: [
    "kctl join SERVER[,SERVER...] (--ca-cert-hash sha256:HEX | --ca-file PATH) [--token-file PATH] [--node-name NAME]",
    "          [--server URL]...",
    "          [--state-dir DIR] [--address IP] [--allow-privileged]",
    "          [--pod-pids-limit N] [--container-log-max-size SIZE] [--container-log-max-files N]",
    "",
    "The bootstrap token comes from --token-file or the KCTL_TOKEN environment variable, never",
    "from the command line. Example (the command `kctl token create` prints):",
    "  KCTL_TOKEN=abcdef.0123456789abcdef kctl join https://10.0.0.5:6443 --ca-cert-hash sha256:...",
  ].join("\n"),
  flags: [
    {
      name: "token-file",
      kind: "string",
      placeholder: "PATH",
      help: "file holding the bootstrap token (or set KCTL_TOKEN)",
    },
    { name: "token", kind: "string", placeholder: "TOKEN", help: "refused: use --token-file or KCTL_TOKEN" },
    {
      name: "server",
      kind: "strings",
      placeholder: "URL",
      help: "another control plane's URL (repeatable; SERVER may also be a comma list): the agent fails over among them",
    },
    {
      name: "ca-cert-hash",
      kind: "string",
      placeholder: "sha256:HEX",
      help: "trust the cluster CA with this public key hash",
    },
    { name: "ca-file", kind: "string", placeholder: "PATH", help: "or trust this CA certificate file" },
    {
      name: "node-name",
      kind: "string",
      placeholder: "NAME",
      help: "this node's name (default: the hostname)",
    },
    {
      name: "state-dir",
      kind: "string",
      placeholder: "DIR",
      help: `agent state (default ${defaultAgentStateDir})`,
    },
    {
      name: "address",
      kind: "string",
      placeholder: "IP",
      help: "this node's InternalIP (default: first non-loopback IPv4)",
    },
    {
      name: "metrics-address",
      kind: "string",
      placeholder: "HOST:PORT",
      help: "serve Prometheus metrics here, e.g. 127.0.0.1:10249",
    },
    {
      name: "allow-privileged",
      kind: "boolean",
      help: "run pods' privileged containers (securityContext.privileged); refused by default",
    },
    podPidsLimitFlag,
    containerLogMaxSizeFlag,
    containerLogMaxFilesFlag,
    registryConfigFlag,
    ...imageGcFlags,
  ],
  async run(ctx) {
    const podPidsLimit = podPidsLimitOption(ctx.flags);
    const logRotation = logRotationOption(ctx.flags);
    const registryConfig = await registryConfigOption(ctx.flags);
    const imageGc = imageGcOption(ctx.flags);
    const stateDir = ctx.flags.string("state-dir") ?? defaultAgentStateDir;
    let identity = await loadIdentity(stateDir);
    if (!identity) {
      const [given, ...rest] = ctx.positionals;
      if (rest.length)
        throw new UsageError(`unexpected argument "${rest[0]}" (several servers: --server URL, repeated)`);
      const servers = [...(given ?? "").split(","), ...ctx.flags.strings("server")].filter(Boolean);
      const server = servers[0];
      if (!server)
        throw new UsageError("kctl join takes the control plane's URL, e.g. https://10.0.0.5:6443");
      for (const s of servers) {
        if (!/^https:\/\/[^/]+\/?$/.test(s))
          throw new UsageError(`SERVER must be an https:// URL, got "${s}"`);
      }
      const token = await joinToken(ctx.flags.string("token-file"), ctx.flags.string("token"), ctx.io.env);
      const caFile = ctx.flags.string("ca-file");
      const caCertHash = ctx.flags.string("ca-cert-hash");
      if (!caFile && !caCertHash)
        throw new UsageError("give --ca-cert-hash (printed by kctl token create) or --ca-file");
      const nodeName = ctx.flags.string("node-name") ?? nodeNameFromHostname(hostname());
      const caPem = caFile
        ? await readFile(caFile, "utf8").catch((err: Error) => {
            throw new UsageError(`--ca-file ${caFile}: ${err.message}`);
          })
        : undefined;
      const creds = await joinCluster({
        server,
        token,
        nodeName,
        ...(caPem ? { caPem } : {}),
        ...(caCertHash ? { caCertHash } : {}),
      });
      identity = {
        ...creds,
        nodeServiceAddress: nodeServiceAddresses(creds.nodeServiceAddress, servers),
        nodeName,
        server,
      };
      await saveIdentity(stateDir, identity);
      ctx.io.stdout.write(`node ${nodeName} joined ${server}\n`);
    }
    const address = ctx.flags.string("address");
    const metricsAddress = ctx.flags.string("metrics-address");
    if (metricsAddress !== undefined && !/^[^:]*:\d+$/.test(metricsAddress)) {
      throw new UsageError(`--metrics-address: want HOST:PORT, got "${metricsAddress}"`);
    }
    const unlock = await lockAgentState(stateDir);
    setServerHeapGrowth();
    const agent = startAgent({
      identity,
      stateDir,
      ...podPidsLimit,
      ...logRotation,
      ...registryConfig,
      ...imageGc,
      ...(address ? { address } : {}),
      ...(metricsAddress ? { metricsAddress } : {}),
      allowPrivileged: ctx.flags.bool("allow-privileged"),
    });
    try {
      const stopped = new Promise<void>((resolve) =>
        ctx.io.signal.addEventListener("abort", () => resolve(), { once: true }),
      );
      const registered = await Promise.race([agent.ready, stopped]);
      if (registered)
        ctx.io.stdout.write(`node ${identity.nodeName} ready (pod CIDR ${registered.podCIDR})\n`);
      await stopped;
      return 0;
    } finally {
      await agent.stop();
      await unlock();
    }
  },
};
