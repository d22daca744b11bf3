/**
 * The etcd member a control plane runs on its own host: its certificates (etcd-pki.ts), the
 * supervised child, and the client URLs of every member of its cluster, this one first, so the
 * apiserver's client can move to another member while this one restarts.
 */
import { hostname } from "node:os";
import { join } from "node:path";
import type { EtcdAccess } from "./etcd-access.js";
import { etcdClient } from "./etcd-access.js";
import { ensureEtcdPki } from "./etcd-pki.js";
import { type SupervisedEtcd, superviseEtcd } from "./etcd-supervisor.js";

export interface LocalMemberOptions {
  /** Member name; default this host's name. */
  name?: string;
  /** Default: a free port (tests). kctl up passes 2379 and 2380. */
  clientPort?: number;
  peerPort?: number;
  /** etcd's --initial-cluster (`name=https://ip:2380,...`); default this member alone. */
  initialCluster?: string;
  initialClusterState?: "new" | "existing";
  startTimeoutMs?: number;
}

export interface LocalMember {
  etcd: SupervisedEtcd;
  access: EtcdAccess;
}

/**
 * Starts this host's member with its data in `<stateDir>/etcd`, advertised on `advertiseHost`
 * (reachable by the other members) and on loopback. Resolves once it is healthy, which for a
 * member of a new multi-member cluster means once a quorum of the initial cluster runs.
 */
export async function startLocalMember(
  stateDir: string,
  pkiDir: string,
  advertiseHost: string,
  opts: LocalMemberOptions,
): Promise<LocalMember> {
  const tls = await ensureEtcdPki(pkiDir, [advertiseHost, hostname()]);
  const etcd = await superviseEtcd({
    dataDir: join(stateDir, "etcd"),
    logFile: join(stateDir, "etcd.log"),
    name: opts.name ?? hostname(),
    advertiseHost,
    tls,
    startTimeoutMs: opts.startTimeoutMs ?? (opts.initialCluster ? 120_000 : 20_000),
    ...(opts.clientPort !== undefined ? { clientPort: opts.clientPort } : {}),
    ...(opts.peerPort !== undefined ? { peerPort: opts.peerPort } : {}),
    ...(opts.initialCluster ? { initialCluster: opts.initialCluster } : {}),
    ...(opts.initialClusterState ? { initialClusterState: opts.initialClusterState } : {}),
  });
  try {
    const local: EtcdAccess = { endpoints: [etcd.endpoint], tls: tls.client, serverName: "localhost" };
    return { etcd, access: { ...local, endpoints: await memberClientUrls(local, etcd.endpoint) } };
  } catch (err) {
    await etcd.stop();
    throw err;
  }
}

/** Every started member's client URLs, `first` leading. */
async function memberClientUrls(access: EtcdAccess, first: string): Promise<string[]> {
  const client = await etcdClient(access);
  try {
    const { members } = await client.cluster.memberList({});
    const urls = members.flatMap((m) => m.clientURLs);
    return [first, ...urls.filter((u) => u !== first)];
  } finally {
    client.close();
  }
}
