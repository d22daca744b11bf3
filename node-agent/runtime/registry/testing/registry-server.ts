/**
 * Test helpers around the real registry: Debian's `docker-registry` (distribution 2.8) started as a
 * child process on a free 127.0.0.1 port with a config file in a temp dir, and `skopeo copy` to
 * push OCI layouts into it. The caller stops each registry by its pid (`stop()`), in afterAll.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export const REGISTRY_BIN = "/usr/bin/docker-registry";

export interface RegistryServerOptions {
  /** Scratch dir for the config and the storage; created if missing. */
  dir: string;
  /** `auth:` section of the config, as YAML lines (already indented by two spaces). */
  auth?: string;
  /** Serve HTTPS with this certificate and key (PEM file paths). */
  tls?: { certificate: string; key: string; ca: string };
  /** Listen on this port instead of a free one (to restart a registry where it was). */
  port?: number;
}

export interface RegistryServer {
  /** `127.0.0.1:<port>`, as image references name it. */
  host: string;
  port: number;
  pid: number;
  /** Kills the registry by pid and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
  /** Request lines the registry served so far (`GET /v2/team/app/blobs/sha256:...`). */
  requests(): string[];
}

/**
 * Writes a bcrypt htpasswd file for one user at `file` (distribution reads only bcrypt) and
 * returns the registry config's `auth:` section using it.
 */
export function htpasswdAuthConfig(file: string, user: string, password: string): string {
  writeFileSync(file, execFileSync("htpasswd", ["-Bbn", user, password]));
  return `  htpasswd:\n    realm: kctl-test\n    path: ${file}`;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startRegistry(options: RegistryServerOptions): Promise<RegistryServer> {
  await mkdir(join(options.dir, "data"), { recursive: true });
  const port = options.port ?? (await freePort());
  const tls = options.tls
    ? `  tls:\n    certificate: ${options.tls.certificate}\n    key: ${options.tls.key}\n`
    : "";
  const config = [
    "version: 0.1",
    "log:",
    "  level: error",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${join(options.dir, "data")}`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: 127.0.0.1:${port}`,
    "  secret: kctl-test-secret",
    tls.trimEnd(),
    ...(options.auth !== undefined ? ["auth:", options.auth.trimEnd()] : []),
    "",
  ]
    .filter((l) => l !== "")
    .join("\n");
  const file = join(options.dir, "config.yml");
  await writeFile(file, `${config}\n`);
  const child = spawn(REGISTRY_BIN, ["serve", file], { stdio: ["ignore", "pipe", "pipe"] });
  const stderr: Buffer[] = [];
  const log: Buffer[] = [];
  child.stderr!.on("data", (d: Buffer) => stderr.push(d));
  child.stdout!.on("data", (d: Buffer) => log.push(d));
  // The access log is in combined format: `... "GET /v2/... HTTP/1.1" 200 ...`.
  const requests = () =>
    [
      ...Buffer.concat([...log, ...stderr])
        .toString()
        .matchAll(/"([A-Z]+ \/v2\/[^ "]*) HTTP\/[0-9.]+" (\d+)/g),
    ].map((m) => `${m[1]} ${m[2]}`);
  const stop = () => stopChild(child);
  try {
    await waitReady(port, options.tls?.ca, child, stderr);
  } catch (err) {
    await stop();
    throw err;
  }
  return { host: `127.0.0.1:${port}`, port, pid: child.pid!, stop, requests };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  process.kill(child.pid!, "SIGKILL");
  await exited;
}

async function waitReady(
  port: number,
  ca: string | undefined,
  child: ChildProcess,
  stderr: Buffer[],
): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`docker-registry exited with ${child.exitCode}: ${Buffer.concat(stderr).toString()}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const req = (ca ? https : http).get(
        `${ca ? "https" : "http"}://127.0.0.1:${port}/v2/`,
        ca ? { ca } : {},
        (res) => {
          res.resume();
          resolve(true);
        },
      );
      req.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`docker-registry on port ${port} did not answer within 15 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface CopyOptions {
  /** `user:password` for the registry. */
  creds?: string;
  /** Copy every image of an index (`--all`). */
  all?: boolean;
  /** Manifest format to write: `v2s2` (Docker schema2) or `oci`. */
  format?: "v2s2" | "oci";
  /** CA dir for a TLS registry (holds `ca.crt`); without it TLS is not verified. */
  certDir?: string;
  /** Recompress the layers on the way (`--dest-compress-format`), e.g. `zstd`. */
  compressFormat?: "gzip" | "zstd";
}

/** `skopeo copy oci:<layout>:<tag> docker://<dest>`. */
export async function skopeoCopy(
  layout: string,
  tag: string,
  dest: string,
  options: CopyOptions = {},
): Promise<void> {
  const args = ["--insecure-policy", "copy", "--quiet"];
  if (options.certDir !== undefined) args.push("--dest-cert-dir", options.certDir);
  else args.push("--dest-tls-verify=false");
  if (options.creds !== undefined) args.push("--dest-creds", options.creds);
  if (options.all) args.push("--all");
  if (options.format !== undefined) args.push("--format", options.format);
  if (options.compressFormat !== undefined)
    args.push("--dest-compress", "--dest-compress-format", options.compressFormat);
  args.push(`oci:${layout}:${tag}`, `docker://${dest}`);
  await run("skopeo", args, { timeout: 120_000 });
}
