/**
 * The kctl config file: a kubeconfig (apiVersion v1, kind Config) holding the server URL, the
 * cluster CA and the bearer token, so stock kubectl can use the same file with `--kubeconfig`.
 * Owns where the file is (`--config`, `KCTL_CONFIG`, `~/.kctl/config`), reading it with clear errors
 * that name the path, and writing it (mode 0600) for `kctl up`.
 */

import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { isMap, isSeq, parseDocument, stringify } from "yaml";
import { CliError } from "./errors.js";

/** What a client needs to talk to one cluster: the current context of the file resolved. */
export interface ClusterAccess {
  server: string;
  /**
   * Every apiserver of the cluster, `server` first, when the config lists more (several control
   * planes): kctl moves to the next when one cannot be reached.
   */
  servers?: string[];
  /** PEM of the CA that signed the server's certificate; absent means the system's CAs. */
  caPem?: string;
  token?: string;
  insecureSkipTlsVerify: boolean;
  /** The context's namespace, or "default". */
  namespace: string;
  /** The file this came from, for error messages. */
  path: string;
}

export interface WriteConfigInput {
  server: string;
  /** More apiservers of the same cluster, written as the cluster's `kctl.io/servers` extension. */
  otherServers?: string[];
  caPem?: string;
  token: string;
  /** Names the cluster, user and context entries; default "kctl". */
  clusterName?: string;
  namespace?: string;
}

/** `--config` if given, else `KCTL_CONFIG`, else `~/.kctl/config`. */
export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string {
  const chosen = flag ?? env.KCTL_CONFIG;
  if (chosen) return resolve(cwd, chosen);
  return join(env.HOME || homedir(), ".kctl", "config");
}

type Named = { name?: unknown; [key: string]: unknown };
interface Kubeconfig {
  apiVersion?: unknown;
  kind?: unknown;
  clusters?: Named[];
  users?: Named[];
  contexts?: Named[];
  "current-context"?: unknown;
  [key: string]: unknown;
}

const rerun = 'run "kctl up" to write a new one, or pass --config PATH';

async function loadKubeconfig(path: string): Promise<Kubeconfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CliError(`cannot read the kctl config ${path}: ${(err as Error).message}`);
  }
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new CliError(`the kctl config ${path} is not valid YAML (${doc.errors[0]!.message}): ${rerun}`);
  }
  const root = doc.contents;
  if (root === null) throw new CliError(`the kctl config ${path} is empty: ${rerun}`);
  if (!isMap(root)) throw new CliError(`the kctl config ${path} is not a kubeconfig mapping: ${rerun}`);
  for (const key of ["clusters", "users", "contexts"]) {
    const v = root.get(key);
    if (v !== undefined && v !== null && !isSeq(v)) {
      throw new CliError(`the kctl config ${path}: ${key} must be a list: ${rerun}`);
    }
  }
  return doc.toJS() as Kubeconfig;
}

function entry(list: Named[] | undefined, name: unknown, field: string): Record<string, unknown> | undefined {
  const found = (list ?? []).find((e) => e && e.name === name);
  const value = found?.[field];
  return value && typeof value === "object" ? (value as Record<string, unknown>) : undefined;
}

/**
 * Reads the config at `path` and resolves its current context. Throws `CliError` naming the path
 * and what to do when the file is missing, not YAML, or incomplete.
 */
export async function readConfig(path: string): Promise<ClusterAccess> {
  const cfg = await loadKubeconfig(path);
  if (!cfg) {
    throw new CliError(
      `no kctl config at ${path}: run "kctl up" first, or pass --config PATH (or set KCTL_CONFIG)`,
    );
  }
  const bad = (what: string) => new CliError(`the kctl config ${path}: ${what}: ${rerun}`);
  const current = cfg["current-context"];
  if (typeof current !== "string" || current === "") throw bad("current-context is not set");
  const context = entry(cfg.contexts, current, "context");
  if (!context) throw bad(`current-context "${current}" names no entry in contexts`);
  const cluster = entry(cfg.clusters, context.cluster, "cluster");
  if (!cluster)
    throw bad(`context "${current}" names cluster "${String(context.cluster)}", which is not in clusters`);
  const server = cluster.server;
  if (typeof server !== "string" || !/^https?:\/\//.test(server)) {
    throw bad(`clusters[name=${String(context.cluster)}].cluster.server must be an http(s) URL`);
  }
  const others = serversExtension(cluster.extensions).filter((s) => s !== server);
  const access: ClusterAccess = {
    server: server.replace(/\/+$/, ""),
    ...(others.length ? { servers: [server, ...others].map((s) => s.replace(/\/+$/, "")) } : {}),
    insecureSkipTlsVerify: cluster["insecure-skip-tls-verify"] === true,
    namespace: typeof context.namespace === "string" && context.namespace ? context.namespace : "default",
    path,
  };
  const caData = cluster["certificate-authority-data"];
  const caFile = cluster["certificate-authority"];
  if (typeof caData === "string") {
    access.caPem = Buffer.from(caData, "base64").toString("utf8");
    if (!access.caPem.includes("-----BEGIN CERTIFICATE-----")) {
      throw bad("certificate-authority-data is not a base64-encoded PEM certificate");
    }
  } else if (typeof caFile === "string") {
    const caPath = isAbsolute(caFile) ? caFile : resolve(dirname(path), caFile);
    try {
      access.caPem = await readFile(caPath, "utf8");
    } catch (err) {
      throw bad(`cannot read certificate-authority ${caPath}: ${(err as Error).message}`);
    }
  }
  if (context.user !== undefined) {
    const user = entry(cfg.users, context.user, "user");
    if (!user) throw bad(`context "${current}" names user "${String(context.user)}", which is not in users`);
    if (typeof user.token === "string") access.token = user.token;
  }
  return access;
}

/**
 * The extra servers kctl keeps in a cluster's `extensions` (kubeconfig's NamedExtension list), which
 * stock kubectl ignores: it takes one server per cluster, so kubectl reaches several control planes
 * through a load balancer in front of them (or one context per control plane).
 */
export const serversExtensionName = "kctl.io/servers";

function serversExtension(extensions: unknown): string[] {
  if (!Array.isArray(extensions)) return [];
  const found = extensions.find((e) => (e as Named)?.name === serversExtensionName) as
    | { extension?: { servers?: unknown } }
    | undefined;
  const servers = found?.extension?.servers;
  return Array.isArray(servers)
    ? servers.filter((s): s is string => typeof s === "string" && /^https?:\/\//.test(s))
    : [];
}

function upsert(list: Named[] | undefined, name: string, field: string, value: object): Named[] {
  const rest = (list ?? []).filter((e) => e && e.name !== name);
  return [...rest, { name, [field]: value }];
}

/**
 * Writes (or updates) the cluster, user and context named `clusterName` in the kubeconfig at `path`
 * and makes it the current context; other entries of an existing file are kept. Creates the
 * directory; the file is written atomically with mode 0600 since it holds the token.
 */
export async function writeConfig(path: string, input: WriteConfigInput): Promise<void> {
  const name = input.clusterName ?? "kctl";
  const existing = (await loadKubeconfig(path)) ?? {};
  const cluster: Record<string, unknown> = { server: input.server };
  if (input.caPem) cluster["certificate-authority-data"] = Buffer.from(input.caPem).toString("base64");
  const others = [...new Set(input.otherServers ?? [])].filter((s) => s !== input.server);
  if (others.length) {
    cluster.extensions = [{ name: serversExtensionName, extension: { servers: [input.server, ...others] } }];
  }
  const context: Record<string, string> = { cluster: name, user: name };
  if (input.namespace) context.namespace = input.namespace;
  const cfg: Kubeconfig = {
    ...existing,
    apiVersion: "v1",
    kind: "Config",
    clusters: upsert(existing.clusters, name, "cluster", cluster),
    users: upsert(existing.users, name, "user", { token: input.token }),
    contexts: upsert(existing.contexts, name, "context", context),
    "current-context": name,
  };
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, stringify(cfg, { indentSeq: false }), { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}
