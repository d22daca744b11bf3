/**
 * The node's identity on disk: its key and certificate (signed by the cluster CA as
 * `system:node:<name>`), the CA, and where the control plane is. Written once at join (key 0600,
 * atomically) and read on every agent start, so a restarted agent needs no token.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { NodeCredentials } from "./join.js";

export interface NodeIdentity extends NodeCredentials {
  nodeName: string;
  /** The apiserver URL the node joined through. */
  server: string;
}

const file = (stateDir: string) => join(stateDir, "node-identity.json");

export class CredentialsError extends Error {
  constructor(path: string, why: string) {
    super(`${path}: ${why}`);
    this.name = "CredentialsError";
  }
}

/** The saved identity, or undefined when this state dir has never joined. */
export async function loadIdentity(stateDir: string): Promise<NodeIdentity | undefined> {
  let text: string;
  try {
    text = await readFile(file(stateDir), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CredentialsError(file(stateDir), (err as Error).message);
  }
  try {
    const id = JSON.parse(text) as NodeIdentity;
    for (const key of ["nodeName", "server", "caPem", "certPem", "keyPem", "nodeServiceAddress"] as const) {
      if (typeof id[key] !== "string" || !id[key]) throw new Error(`missing ${key}`);
    }
    return id;
  } catch (err) {
    throw new CredentialsError(
      file(stateDir),
      `corrupt node identity (${(err as Error).message}); remove it and join again`,
    );
  }
}

export async function saveIdentity(stateDir: string, id: NodeIdentity): Promise<void> {
  // Searchable, not listable: the identity file itself is 0600, and a hostUsers: false pod's root
  // (an unprivileged host id) must reach its rootfs beneath (containerd's state is 0711 alike).
  await mkdir(stateDir, { recursive: true, mode: 0o711 });
  const tmp = `${file(stateDir)}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(id, null, 2), { mode: 0o600 });
  await rename(tmp, file(stateDir));
}
