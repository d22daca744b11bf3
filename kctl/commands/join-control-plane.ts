/**
 * The joining side of `kctl up --join-control-plane https://SERVER:6443`: learns the cluster CA as a
 * node join does (cluster-info signed with the token, CA pinned by --ca-cert-hash), fetches the
 * keys every control plane shares (bootstrap/control-plane-join.ts) into this state dir, and adds
 * this host's etcd member to the cluster through etcd's member API. It returns how to start that
 * member (`--initial-cluster` with every member, state "existing"). Run again on a state dir that
 * already holds etcd data, it does nothing: the member is in the cluster already.
 */
import { X509Certificate } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import {
  type ControlPlaneJoinResponse,
  controlPlaneJoinPath,
} from "../../controlplane/bootstrap/control-plane-join.js";
import { etcdClient } from "../../controlplane/etcd/etcd-access.js";
import { ensureEtcdPki, etcdPkiDir } from "../../controlplane/etcd/etcd-pki.js";
import type { LocalMemberOptions } from "../../controlplane/etcd/local-member.js";
import type { KeyPair } from "../../foundation/pki/pki.js";
import { call, failure, JoinError, pinnedCa } from "../../node-agent/agent/join.js";

export interface ControlPlaneJoinOptions {
  server: string;
  token: string;
  caCertHash?: string;
  caPem?: string;
  stateDir: string;
  /** This member's name, client and peer ports, and the address the other members reach it at. */
  member: { name: string; clientPort: number; peerPort: number; advertiseHost: string };
  /** The cluster uses an external etcd: fetch the keys only. */
  externalEtcd: boolean;
}

async function hasEtcdData(stateDir: string): Promise<boolean> {
  return (await readdir(join(stateDir, "etcd")).catch(() => [])).length > 0;
}

/** Writes a key pair unless the same certificate is there; refuses a state dir of another cluster. */
async function installCa(dir: string, pair: KeyPair, what: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const certPath = join(dir, "ca.crt");
  const existing = await readFile(certPath, "utf8").catch(() => undefined);
  if (existing !== undefined) {
    if (new X509Certificate(existing).fingerprint256 === new X509Certificate(pair.certPem).fingerprint256)
      return;
    throw new JoinError(
      "keys",
      `${certPath} holds another ${what} than the cluster's; this state dir belongs to another cluster (use a new --state-dir)`,
    );
  }
  await writeFile(join(dir, "ca.key"), pair.keyPem, { mode: 0o600 });
  await writeFile(certPath, pair.certPem, { mode: 0o644 });
}

/** Fetches the shared keys and adds this member; returns the options to start it with. */
export async function joinControlPlane(opts: ControlPlaneJoinOptions): Promise<LocalMemberOptions> {
  const member = {
    name: opts.member.name,
    clientPort: opts.member.clientPort,
    peerPort: opts.member.peerPort,
  };
  if (await hasEtcdData(opts.stateDir)) return member;
  const base = new URL(opts.server);
  const caPem = opts.caPem ?? (await pinnedCa(base, opts.token, opts.caCertHash!));
  const res = await call(new URL(controlPlaneJoinPath, base), "POST", { ca: caPem, token: opts.token }).catch(
    (err: Error) => {
      throw new JoinError("control-plane keys", `${opts.server}: ${err.message}`);
    },
  );
  if (res.status !== 200) throw failure("control-plane keys", res);
  const keys = JSON.parse(res.body) as ControlPlaneJoinResponse;
  const pkiDir = join(opts.stateDir, "pki");
  await installCa(pkiDir, keys.ca, "cluster CA");
  await writeFile(join(pkiDir, "admin-token"), `${keys.adminToken}\n`, { mode: 0o600 });
  // The cluster's ServiceAccount key, so tokens any control plane signs verify on every other one.
  await writeFile(join(pkiDir, "sa.key"), keys.serviceAccountKey, { mode: 0o600 });
  if (opts.externalEtcd) return member;
  if (!keys.etcdCa) {
    throw new JoinError(
      "etcd",
      `${opts.server} uses an external etcd: give --etcd-endpoints and its client certificate flags`,
    );
  }
  await installCa(etcdPkiDir(pkiDir), keys.etcdCa, "etcd CA");
  const tls = await ensureEtcdPki(pkiDir, [opts.member.advertiseHost, hostname()]);
  const peerUrl = `https://${opts.member.advertiseHost}:${opts.member.peerPort}`;
  const client = await etcdClient({
    endpoints: keys.etcdEndpoints,
    tls: tls.client,
    serverName: "localhost",
  });
  try {
    let { members } = await client.cluster.memberList({});
    // A join that added the member and then failed to start it may run again: keep that member.
    if (!members.some((m) => m.peerURLs.includes(peerUrl))) {
      members = (await client.cluster.memberAdd({ peerURLs: [peerUrl] })).members;
    }
    const initial = members.map((m) => {
      if (m.peerURLs.includes(peerUrl)) return `${opts.member.name}=${peerUrl}`;
      if (!m.name) {
        throw new JoinError(
          "etcd",
          `member ${m.ID} (${m.peerURLs.join(",")}) was added but never started; start it or remove it (kctl etcd member remove) first`,
        );
      }
      return m.peerURLs.map((u) => `${m.name}=${u}`).join(",");
    });
    return { ...member, initialCluster: initial.join(","), initialClusterState: "existing" };
  } catch (err) {
    if (err instanceof JoinError) throw err;
    throw new JoinError("etcd member add", `${keys.etcdEndpoints.join(",")}: ${(err as Error).message}`);
  } finally {
    client.close();
  }
}
