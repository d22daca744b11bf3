/**
 * How to reach a control plane's etcd, written to `<stateDir>/etcd-access.json` when the control
 * plane starts (its ports may be chosen at start) and read by `kctl etcd` on the same host: the
 * client URLs (this host's member first) and the client TLS files. It holds paths, never keys.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Etcd3, type IOptions } from "etcd3";
import { type EtcdClientTls, etcd3Credentials } from "./etcd-pki.js";

export interface EtcdAccess {
  endpoints: string[];
  /** Absent for a plain-HTTP etcd (an external one, or tests). */
  tls?: EtcdClientTls;
  /**
   * The name to verify the members' certificates by, when they are reached by IP: kctl's own
   * members carry "localhost" (TLS clients may not send an IP as the server name).
   */
  serverName?: string;
}

export class EtcdAccessError extends Error {
  constructor(path: string, why: string) {
    super(`${path}: ${why}`);
    this.name = "EtcdAccessError";
  }
}

export const etcdAccessPath = (stateDir: string) => join(stateDir, "etcd-access.json");

export async function writeEtcdAccess(stateDir: string, access: EtcdAccess): Promise<void> {
  const path = etcdAccessPath(stateDir);
  await writeFile(`${path}.tmp`, `${JSON.stringify(access, null, 2)}\n`, { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}

/** The access a control plane recorded in `stateDir`; throws EtcdAccessError naming the file. */
export async function readEtcdAccess(stateDir: string): Promise<EtcdAccess> {
  const path = etcdAccessPath(stateDir);
  const text = await readFile(path, "utf8").catch((err: NodeJS.ErrnoException) => {
    throw new EtcdAccessError(
      path,
      err.code === "ENOENT"
        ? "no etcd access recorded: run this on a control plane host, after kctl up (or pass --state-dir)"
        : err.message,
    );
  });
  try {
    const access = JSON.parse(text) as EtcdAccess;
    if (!Array.isArray(access.endpoints) || access.endpoints.length === 0) throw new Error("no endpoints");
    return access;
  } catch (err) {
    throw new EtcdAccessError(path, `unreadable (${(err as Error).message})`);
  }
}

/** An etcd3 client for `access`, with its client certificate when it has TLS. */
export async function etcdClient(access: EtcdAccess, extra: Partial<IOptions> = {}): Promise<Etcd3> {
  return new Etcd3({
    ...extra,
    ...(access.serverName ? { grpcOptions: { "grpc.ssl_target_name_override": access.serverName } } : {}),
    hosts: access.endpoints,
    ...(access.tls ? { credentials: await etcd3Credentials(access.tls) } : {}),
  });
}
