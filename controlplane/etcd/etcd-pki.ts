/**
 * etcd's certificates, as kubeadm lays them out: a CA of etcd's own (`pki/etcd/ca.crt`), apart
 * from the cluster CA, so that no certificate the cluster CA signs for others (a node's, a user's)
 * opens etcd; a serving and a peer certificate for this member with its addresses; and the client
 * certificate the apiserver presents (`pki/apiserver-etcd-client.crt`). etcd runs with
 * `--client-cert-auth` and `--peer-client-cert-auth`, so a client must hold a certificate from the
 * etcd CA. The etcd CA key is shared with control planes that join (see bootstrap/control-plane-join.ts).
 */
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureCa, ensureCertFiles } from "../../foundation/pki/pki.js";

/** Paths of a client's TLS material for etcd (what etcdctl calls --cacert, --cert, --key). */
export interface EtcdClientTls {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** Paths of a member's TLS material. */
export interface EtcdMemberTls {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  peerCertFile: string;
  peerKeyFile: string;
  /** The apiserver's client pair, also used for the member's own health check. */
  client: EtcdClientTls;
}

export const etcdCaName = "kctl-etcd-ca";

/** The directory of the etcd CA and member certificates beneath a control plane's pki dir. */
export const etcdPkiDir = (pkiDir: string) => join(pkiDir, "etcd");

/** Client TLS paths of a control plane's state: the apiserver's client certificate. */
export function apiserverEtcdClientTls(pkiDir: string): EtcdClientTls {
  return {
    caFile: join(etcdPkiDir(pkiDir), "ca.crt"),
    certFile: join(pkiDir, "apiserver-etcd-client.crt"),
    keyFile: join(pkiDir, "apiserver-etcd-client.key"),
  };
}

/**
 * Makes (once) the etcd CA and, for a member reachable at `hosts`, its serving and peer
 * certificates, plus the apiserver's client certificate; reissues a certificate whose hosts or CA
 * changed. Returns the paths etcd and its clients read.
 */
export async function ensureEtcdPki(pkiDir: string, hosts: string[]): Promise<EtcdMemberTls> {
  const dir = etcdPkiDir(pkiDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ca = await ensureCa(dir, etcdCaName);
  const all = [...new Set(["127.0.0.1", "localhost", ...hosts])];
  await ensureCertFiles(join(dir, "server"), ca, { commonName: "kctl-etcd-server", hosts: all });
  await ensureCertFiles(join(dir, "peer"), ca, { commonName: "kctl-etcd-peer", hosts: all });
  await ensureCertFiles(join(pkiDir, "apiserver-etcd-client"), ca, {
    commonName: "kube-apiserver-etcd-client",
    client: true,
  });
  return {
    caFile: join(dir, "ca.crt"),
    serverCertFile: join(dir, "server.crt"),
    serverKeyFile: join(dir, "server.key"),
    peerCertFile: join(dir, "peer.crt"),
    peerKeyFile: join(dir, "peer.key"),
    client: apiserverEtcdClientTls(pkiDir),
  };
}

/** The `credentials` option of an etcd3 client for these files. */
export async function etcd3Credentials(tls: EtcdClientTls): Promise<{
  rootCertificate: Buffer;
  certChain: Buffer;
  privateKey: Buffer;
}> {
  return {
    rootCertificate: await readFile(tls.caFile),
    certChain: await readFile(tls.certFile),
    privateKey: await readFile(tls.keyFile),
  };
}
