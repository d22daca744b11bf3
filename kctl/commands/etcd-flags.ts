/**
 * `kctl up`'s etcd flags: the local member of a multi-member cluster (`--etcd-name`,
 * `--etcd-initial-cluster name=https://ip:2380,...` as etcd and kubeadm name it, the ports), or an
 * external cluster (`--etcd-endpoints` with `--etcd-cafile/--etcd-certfile/--etcd-keyfile`, the
 * kube-apiserver's names). Turns them into control-plane options, refusing bad input by flag name.
 */
import type { EtcdClientTls } from "../../controlplane/etcd/etcd-pki.js";
import type { LocalMemberOptions } from "../../controlplane/etcd/local-member.js";
import type { FlagSpec, Flags } from "../args.js";
import { UsageError } from "../errors.js";

export const etcdFlags: FlagSpec[] = [
  {
    name: "etcd-endpoints",
    kind: "string",
    placeholder: "URL,...",
    help: "use this external etcd instead of running one",
  },
  { name: "etcd-cafile", kind: "string", placeholder: "PATH", help: "CA of an external https etcd" },
  {
    name: "etcd-certfile",
    kind: "string",
    placeholder: "PATH",
    help: "client certificate for an external https etcd",
  },
  { name: "etcd-keyfile", kind: "string", placeholder: "PATH", help: "its key" },
  {
    name: "etcd-name",
    kind: "string",
    placeholder: "NAME",
    help: "this host's etcd member name (default: the node name)",
  },
  {
    name: "etcd-initial-cluster",
    kind: "string",
    placeholder: "NAME=URL,...",
    help: "start a new multi-member etcd: every member as name=https://ip:2380 (run kctl up on each host)",
  },
  {
    name: "etcd-client-port",
    kind: "int",
    placeholder: "PORT",
    help: "etcd client port (default 2379; a free one with --port 0)",
  },
  {
    name: "etcd-peer-port",
    kind: "int",
    placeholder: "PORT",
    help: "etcd peer port (default 2380; a free one with --port 0)",
  },
];

export interface EtcdChoice {
  /** An external cluster. */
  external?: { endpoints: string[]; tls?: EtcdClientTls };
  /** Or this host's member. */
  member?: LocalMemberOptions & { name: string };
}

function port(flags: Flags, name: string, fallback: number | undefined): number | undefined {
  const value = flags.int(name);
  if (value === undefined) return fallback;
  if (value < 1 || value > 65535)
    throw new UsageError(`--${name} must be between 1 and 65535 (got ${value})`);
  return value;
}

/** Checks `name=https://host:port,...` and that `self` is one of its members. */
export function parseInitialCluster(text: string, self: string): string {
  const names = new Set<string>();
  for (const entry of text.split(",")) {
    const m = /^([a-zA-Z0-9][a-zA-Z0-9._-]*)=(https:\/\/[^/,=]+:\d+)$/.exec(entry);
    if (!m) {
      throw new UsageError(
        `--etcd-initial-cluster: "${entry}" is not name=https://IP:PORT (e.g. cp1=https://10.0.0.5:2380)`,
      );
    }
    names.add(m[1]!);
  }
  if (!names.has(self)) {
    throw new UsageError(
      `--etcd-initial-cluster: no member is named "${self}", this host's member (set --etcd-name)`,
    );
  }
  return text;
}

/**
 * The etcd the control plane uses. `defaultName` is the member name without --etcd-name;
 * `testPorts` (from `--port 0`) picks free ports instead of 2379/2380.
 */
export function etcdChoice(flags: Flags, defaultName: string, testPorts: boolean): EtcdChoice {
  const endpoints = (flags.string("etcd-endpoints") ?? "").split(",").filter(Boolean);
  const tlsFlags = ["etcd-cafile", "etcd-certfile", "etcd-keyfile"] as const;
  const given = tlsFlags.filter((f) => flags.string(f) !== undefined);
  if (endpoints.length) {
    for (const flag of ["etcd-initial-cluster", "etcd-name", "etcd-client-port", "etcd-peer-port"]) {
      if (flags.has(flag))
        throw new UsageError(`--${flag} is for the etcd kctl runs; not with --etcd-endpoints`);
    }
    for (const url of endpoints) {
      if (!/^https?:\/\/[^/]+$/.test(url)) {
        throw new UsageError(`--etcd-endpoints: "${url}" is not a URL like https://10.0.0.5:2379`);
      }
    }
    if (given.length && given.length < 3) {
      throw new UsageError("--etcd-cafile, --etcd-certfile and --etcd-keyfile go together: give all three");
    }
    const tls: EtcdClientTls | undefined =
      given.length === 3
        ? {
            caFile: flags.string("etcd-cafile")!,
            certFile: flags.string("etcd-certfile")!,
            keyFile: flags.string("etcd-keyfile")!,
          }
        : undefined;
    if (!tls && endpoints.some((u) => u.startsWith("https:"))) {
      throw new UsageError(
        "an https --etcd-endpoints needs --etcd-cafile, --etcd-certfile and --etcd-keyfile",
      );
    }
    return { external: { endpoints, ...(tls ? { tls } : {}) } };
  }
  if (given.length) throw new UsageError(`--${given[0]} is for an external etcd: it needs --etcd-endpoints`);
  const name = flags.string("etcd-name") ?? defaultName;
  const clientPort = port(flags, "etcd-client-port", testPorts ? undefined : 2379);
  const peerPort = port(flags, "etcd-peer-port", testPorts ? undefined : 2380);
  const initial = flags.string("etcd-initial-cluster");
  return {
    member: {
      name,
      ...(clientPort !== undefined ? { clientPort } : {}),
      ...(peerPort !== undefined ? { peerPort } : {}),
      ...(initial !== undefined ? { initialCluster: parseInitialCluster(initial, name) } : {}),
    },
  };
}
