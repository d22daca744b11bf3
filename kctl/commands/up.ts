/**
 * `kctl up`: runs a whole single-host cluster in the foreground — etcd (a child process, unless
 * `--etcd-endpoints` names an external cluster), the control plane, and (soon) the local node agent —
 * writes the kctl config, and stops everything cleanly on SIGINT/SIGTERM. Running it again on the
 * same state dir brings back the same cluster: the same objects, CA and token.
 */
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { startControlPlane } from "../../controlplane/control-plane.js";
import type { LocalMemberOptions } from "../../controlplane/etcd/local-member.js";
import { PoolError, parsePool } from "../../foundation/api/load-balancer-pool.js";
import {
  checkNodeTimings,
  defaultNodeGraceSeconds,
  defaultPodEvictionSeconds,
  NodeTimingError,
} from "../../foundation/api/node-timing.js";
import { nodeNameFromHostname } from "../../foundation/bootstrap/node-names.js";
import { isBootstrapToken } from "../../foundation/bootstrap/token-format.js";
import { setServerHeapGrowth } from "../../foundation/util/heap-growth.js";
import { parseCidr } from "../../foundation/util/ipv4.js";
import { type Agent, startAgent } from "../../node-agent/agent/agent.js";
import { lockAgentState } from "../../node-agent/agent/state-lock.js";
import type { Command, CommandContext } from "../command.js";
import { writeConfig } from "../config.js";
import { UsageError } from "../errors.js";
import { auditFlags, auditOption } from "./audit-flags.js";
import {
  containerLogMaxFilesFlag,
  containerLogMaxSizeFlag,
  logRotationOption,
} from "./container-log-flags.js";
import { type EtcdChoice, etcdChoice, etcdFlags } from "./etcd-flags.js";
import { imageGcFlags, imageGcOption } from "./image-gc-flags.js";
import { joinToken } from "./join.js";
import { joinControlPlane } from "./join-control-plane.js";
import { localNodeIdentity } from "./local-node.js";
import { podPidsLimitFlag, podPidsLimitOption } from "./pod-pids-limit-flag.js";
import { registryConfigFlag, registryConfigOption } from "./registry-config-flag.js";

export const defaultStateDir = "/var/lib/kctl";

function secondsFlag<K extends string>(
  value: number | undefined,
  flag: string,
  key: K,
): Partial<Record<K, number>> {
  if (value === undefined) return {};
  if (value < 2) throw new UsageError(`${flag} must be at least 2 seconds (got ${value})`);
  return { [key]: value } as Partial<Record<K, number>>;
}

/** --node-monitor-grace-period and --pod-eviction-timeout, checked together: they set the agents' fence. */
function nodeTimingFlags(ctx: CommandContext): {
  leaseDurationSeconds: number;
  nodeEvictionTimeoutSeconds: number;
} {
  const grace = ctx.flags.int("node-monitor-grace-period") ?? defaultNodeGraceSeconds;
  const eviction = ctx.flags.int("pod-eviction-timeout") ?? defaultPodEvictionSeconds;
  try {
    checkNodeTimings(grace, eviction, {
      grace: "--node-monitor-grace-period",
      eviction: "--pod-eviction-timeout",
    });
  } catch (err) {
    if (err instanceof NodeTimingError) throw new UsageError(err.message);
    throw err;
  }
  return { leaseDurationSeconds: grace, nodeEvictionTimeoutSeconds: eviction };
}

/** `--load-balancer-pool`, checked before anything starts so a bad entry names the flag. */
function poolFlag(value: string | undefined): { loadBalancerPool?: string } {
  if (value === undefined) return {};
  try {
    parsePool(value);
  } catch (err) {
    if (err instanceof PoolError)
      throw new UsageError(`--load-balancer-pool: ${JSON.stringify(err.entry)}: ${err.why}`);
    throw err;
  }
  return { loadBalancerPool: value };
}

function cidrFlag<K extends string>(
  value: string | undefined,
  flag: string,
  key: K,
): Partial<Record<K, string>> {
  if (value === undefined) return {};
  try {
    parseCidr(value);
  } catch (err) {
    throw new UsageError(`${flag}: ${(err as Error).message}`);
  }
  return { [key]: value } as Partial<Record<K, string>>;
}

/** `--join-control-plane URL`: fetches the shared keys and, for a local member, adds it to etcd. */
async function joinFlags(
  ctx: CommandContext,
  server: string,
  stateDir: string,
  member: EtcdChoice["member"],
  advertiseHost: string,
): Promise<LocalMemberOptions> {
  if (!/^https:\/\/[^/]+\/?$/.test(server))
    throw new UsageError(`--join-control-plane must be an https:// URL, got "${server}"`);
  const caFile = ctx.flags.string("ca-file");
  const caCertHash = ctx.flags.string("ca-cert-hash");
  if (!caFile && !caCertHash) throw new UsageError("--join-control-plane needs --ca-cert-hash or --ca-file");
  const caPem = caFile
    ? await readFile(caFile, "utf8").catch((err: Error) => {
        throw new UsageError(`--ca-file ${caFile}: ${err.message}`);
      })
    : undefined;
  const token = await joinToken(ctx.flags.string("token-file"), undefined, ctx.io.env);
  return joinControlPlane({
    server,
    token,
    ...(caPem ? { caPem } : {}),
    ...(caCertHash ? { caCertHash } : {}),
    stateDir,
    externalEtcd: member === undefined,
    member: {
      name: member?.name ?? "",
      // A joining member must be reachable at fixed ports the others are told about.
      clientPort: member?.clientPort ?? 2379,
      peerPort: member?.peerPort ?? 2380,
      advertiseHost,
    },
  });
}

/**
 * The other control planes' apiservers, for the kubeconfig: the one joined, and one per host of
 * the initial etcd cluster (control planes run beside their etcd member, on the same API port).
 */
export function otherApiServers(
  joinUrl: string | undefined,
  initialCluster: string | undefined,
  port: string,
) {
  const hosts = (initialCluster ?? "").split(",").flatMap((m) => {
    const url = m.split("=")[1];
    return url ? [`https://${new URL(url).hostname}:${port}`] : [];
  });
  return [...(joinUrl ? [joinUrl.replace(/\/+$/, "")] : []), ...hosts];
}

export const upCommand: Command = {
  usage: [
    "kctl up [--state-dir DIR] [--port 6443] [--listen ADDR] [--advertise-address ADDR]",
    "        [--etcd-endpoints URL,... [--etcd-cafile F --etcd-certfile F --etcd-keyfile F]]",
    "        [--etcd-name NAME] [--etcd-initial-cluster NAME=https://IP:2380,...]",
    "        [--join-control-plane https://SERVER:6443 --ca-cert-hash sha256:HEX]",
    "        [--no-agent] [--allow-privileged]",
    "        [--pod-pids-limit N] [--container-log-max-size SIZE] [--container-log-max-files N]",
    "",
    "Examples:",
    "  kctl up                                # state in /var/lib/kctl, API on https://127.0.0.1:6443",
    "  kctl up --state-dir /tmp/c1 --port 7443",
    "  # three control planes, started together, one per host:",
    "  kctl up --advertise-address 10.0.0.5 --etcd-name cp1 \\",
    "     --etcd-initial-cluster cp1=https://10.0.0.5:2380,cp2=https://10.0.0.6:2380,cp3=https://10.0.0.7:2380",
    "  # or one more control plane joining a running one (token from kctl token create --control-plane):",
    "  KCTL_TOKEN=T kctl up --advertise-address 10.0.0.6 --join-control-plane https://10.0.0.5:6443 --ca-cert-hash sha256:H",
  ].join("\n"),
  flags: [
    {
      name: "state-dir",
      kind: "string",
      placeholder: "DIR",
      help: `all cluster state (default ${defaultStateDir})`,
    },
    {
      name: "port",
      kind: "int",
      placeholder: "PORT",
      help: "apiserver HTTPS port (default 6443; NodeService uses PORT+1)",
    },
    { name: "listen", kind: "string", placeholder: "ADDR", help: "address to listen on (default 0.0.0.0)" },
    {
      name: "advertise-address",
      kind: "strings",
      placeholder: "ADDR",
      help: "address clients and nodes use to reach this host (repeatable; default 127.0.0.1)",
    },
    ...etcdFlags,
    {
      name: "join-control-plane",
      kind: "string",
      placeholder: "URL",
      help: "join the cluster at URL as another control plane (token: --token-file or KCTL_TOKEN from kctl token create --control-plane)",
    },
    {
      name: "token-file",
      kind: "string",
      placeholder: "PATH",
      help: "with --join-control-plane: file holding the token (or set KCTL_TOKEN)",
    },
    {
      name: "ca-cert-hash",
      kind: "string",
      placeholder: "sha256:HEX",
      help: "with --join-control-plane: trust the cluster CA with this public key hash",
    },
    {
      name: "ca-file",
      kind: "string",
      placeholder: "PATH",
      help: "with --join-control-plane: or trust this CA certificate file",
    },
    { name: "no-agent", kind: "boolean", help: "run only the control plane, no node agent on this host" },
    {
      name: "allow-privileged",
      kind: "boolean",
      help: "this host's agent runs privileged containers (refused by default)",
    },
    {
      name: "node-name",
      kind: "string",
      placeholder: "NAME",
      help: "name of this host's node (default: the hostname)",
    },
    {
      name: "service-cidr",
      kind: "string",
      placeholder: "CIDR",
      help: "ClusterIPs come from here (default 10.96.0.0/16)",
    },
    {
      name: "load-balancer-pool",
      kind: "string",
      placeholder: "RANGES",
      help: "LoadBalancer addresses, CIDRs or FIRST-LAST ranges separated by commas; written to ConfigMap kube-system/load-balancer-pool when the cluster has none",
    },
    {
      name: "cluster-cidr",
      kind: "string",
      placeholder: "CIDR",
      help: "nodes' pod CIDRs come from here (default 10.244.0.0/16)",
    },
    {
      name: "dns-port",
      kind: "int",
      placeholder: "PORT",
      help: "cluster DNS port (default 53; 0 picks one)",
    },
    {
      name: "node-monitor-grace-period",
      kind: "int",
      placeholder: "SECONDS",
      help: `a node silent this long turns NotReady/Unknown (default ${defaultNodeGraceSeconds}); its agent fences itself at this + --pod-eviction-timeout − 6`,
    },
    {
      name: "leader-elect",
      kind: "boolean",
      help: "elect one leader among control planes sharing etcd before scheduling and reconciling (default true; =false only for a lone control plane)",
    },
    {
      name: "leader-elect-lease-duration",
      kind: "int",
      placeholder: "SECONDS",
      help: "how long a dead leader holds the lease before another control plane takes over (default 5)",
    },
    {
      name: "pod-eviction-timeout",
      kind: "int",
      placeholder: "SECONDS",
      help: `pods of an unreachable node are replaced this long after it turns Unknown, unless they tolerate longer (default ${defaultPodEvictionSeconds})`,
    },
    {
      name: "bootstrap-token",
      kind: "string",
      placeholder: "TOKEN",
      help: "refused (visible in ps): set KCTL_BOOTSTRAP_TOKEN to accept a join token for a day",
    },
    podPidsLimitFlag,
    containerLogMaxSizeFlag,
    containerLogMaxFilesFlag,
    registryConfigFlag,
    ...imageGcFlags,
    ...auditFlags,
  ],
  async run(ctx) {
    if (ctx.positionals.length > 0)
      throw new UsageError(`kctl up takes no arguments (got "${ctx.positionals[0]}")`);
    const port = ctx.flags.int("port") ?? 6443;
    if (port < 0 || port > 65535) throw new UsageError(`--port must be between 0 and 65535 (got ${port})`);
    const stateDir = ctx.flags.string("state-dir") ?? defaultStateDir;
    const advertise = ctx.flags.strings("advertise-address");
    const nodeName = ctx.flags.string("node-name") ?? nodeNameFromHostname(hostname());
    const etcd = etcdChoice(ctx.flags, nodeName, port === 0);
    const etcdHost = advertise.find((a) => a !== "127.0.0.1" && a !== "localhost");
    if ((etcd.member?.initialCluster || ctx.flags.has("join-control-plane")) && !etcdHost) {
      throw new UsageError(
        "several control planes need --advertise-address with this host's address, which the others reach",
      );
    }
    const joinUrl = ctx.flags.string("join-control-plane");
    if (joinUrl !== undefined && etcd.member?.initialCluster) {
      throw new UsageError(
        "--join-control-plane adds a member to a running etcd; not with --etcd-initial-cluster",
      );
    }
    if (joinUrl !== undefined && etcd.member) {
      etcd.member = { ...etcd.member, ...(await joinFlags(ctx, joinUrl, stateDir, etcd.member, etcdHost!)) };
    } else if (joinUrl !== undefined) {
      await joinFlags(ctx, joinUrl, stateDir, undefined, etcdHost!);
    }
    const listen = ctx.flags.string("listen");
    if (ctx.flags.string("bootstrap-token") !== undefined) {
      throw new UsageError(
        "--bootstrap-token: a token on the command line is visible to every user of this host (ps); " +
          "set KCTL_BOOTSTRAP_TOKEN instead",
      );
    }
    // Also accept this join token (abcdef.0123456789abcdef) for a day; see kctl token create.
    const bootstrapToken = ctx.io.env.KCTL_BOOTSTRAP_TOKEN || undefined;
    if (bootstrapToken !== undefined && !isBootstrapToken(bootstrapToken)) {
      throw new UsageError("KCTL_BOOTSTRAP_TOKEN: the token must look like abcdef.0123456789abcdef");
    }
    const nodeTimings = nodeTimingFlags(ctx);
    const podPidsLimit = podPidsLimitOption(ctx.flags);
    const logRotation = logRotationOption(ctx.flags);
    const registryConfig = await registryConfigOption(ctx.flags);
    const imageGc = imageGcOption(ctx.flags);
    setServerHeapGrowth();
    const audit = auditOption(ctx.flags);
    const cp = await startControlPlane({
      ...audit,
      stateDir,
      port,
      ...(listen ? { listenHost: listen } : {}),
      ...(advertise.length ? { advertiseAddresses: advertise } : {}),
      ...(etcd.external ? { etcdEndpoints: etcd.external.endpoints } : {}),
      ...(etcd.external?.tls ? { etcdClientTls: etcd.external.tls } : {}),
      ...(etcd.member ? { etcdMember: etcd.member } : {}),
      ...(bootstrapToken ? { bootstrapToken } : {}),
      ...cidrFlag(ctx.flags.string("service-cidr"), "--service-cidr", "serviceCidr"),
      ...cidrFlag(ctx.flags.string("cluster-cidr"), "--cluster-cidr", "clusterCidr"),
      ...poolFlag(ctx.flags.string("load-balancer-pool")),
      ...(ctx.flags.int("dns-port") !== undefined ? { dnsPort: ctx.flags.int("dns-port")! } : {}),
      ...nodeTimings,
      ...secondsFlag(
        ctx.flags.int("leader-elect-lease-duration"),
        "--leader-elect-lease-duration",
        "leaderElectionTtlSeconds",
      ),
      leaderElect: !ctx.flags.has("leader-elect") || ctx.flags.bool("leader-elect"),
    });
    let agent: Agent | undefined;
    let unlockAgent: (() => Promise<void>) | undefined;
    try {
      const config = {
        server: cp.apiUrl,
        otherServers: otherApiServers(joinUrl, etcd.member?.initialCluster, new URL(cp.apiUrl).port),
        caPem: cp.caPem,
        token: cp.adminToken,
      };
      await writeConfig(ctx.configPath, config);
      await writeConfig(join(stateDir, "admin.kubeconfig"), config);
      ctx.io.stdout.write(
        `control plane ready: ${cp.apiUrl} (node service ${cp.nodeServiceAddress})\nconfig written to ${ctx.configPath}\n`,
      );
      if (!ctx.flags.bool("no-agent")) {
        const identity = await localNodeIdentity(stateDir, nodeName, cp);
        unlockAgent = await lockAgentState(join(stateDir, "agent"));
        agent = startAgent({
          identity,
          stateDir: join(stateDir, "agent"),
          allowPrivileged: ctx.flags.bool("allow-privileged"),
          ...podPidsLimit,
          ...logRotation,
          ...registryConfig,
          ...imageGc,
        });
        const registered = await agent.ready;
        ctx.io.stdout.write(`node ${nodeName} ready (pod CIDR ${registered.podCIDR})\n`);
      }
      const stopped = new Promise<void>((resolve) =>
        ctx.io.signal.addEventListener("abort", () => resolve(), { once: true }),
      );
      const outcome = await Promise.race([stopped.then(() => undefined), cp.failed]);
      if (outcome instanceof Error) {
        ctx.io.stderr.write(`error: ${outcome.message}; stopping\n`);
        return 1;
      }
      ctx.io.stdout.write("stopping\n");
      return 0;
    } finally {
      await agent?.stop();
      await unlockAgent?.();
      await cp.stop();
    }
  },
};
