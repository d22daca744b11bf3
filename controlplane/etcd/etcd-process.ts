/**
 * Runs a real etcd server as a child process: the single-host default of `kctl up` and the etcd of
 * tests. Owns the child's lifetime: `stop()` terminates it (SIGTERM, then SIGKILL after a grace
 * period) and resolves once it has exited. It never touches an etcd it did not start.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { createServer } from "node:net";
import type { EtcdMemberTls } from "./etcd-pki.js";

export interface EtcdProcessOptions {
  dataDir: string;
  /** Client port on 127.0.0.1; a free port is chosen when omitted. */
  clientPort?: number;
  peerPort?: number;
  /** Skips fsync: only for throwaway test clusters. */
  unsafeNoFsync?: boolean;
  /** Where etcd's own log goes; discarded when omitted. */
  logFile?: string;
  startTimeoutMs?: number;
  /** The member's name in its cluster (default "default"). */
  name?: string;
  /**
   * Where clients and peers reach this member (default 127.0.0.1); it listens there and on
   * 127.0.0.1, and it goes into the member's advertised URLs.
   */
  advertiseHost?: string;
  /** `name=https://ip:2380,...`, etcd's --initial-cluster; default this member alone. */
  initialCluster?: string;
  /** "existing" when this member was added to a running cluster (etcd's member add). */
  initialClusterState?: "new" | "existing";
  /**
   * Serve clients and peers over TLS and require a certificate from the etcd CA of both
   * (--client-cert-auth, --peer-client-cert-auth). Without it, plain HTTP on loopback: tests only.
   */
  tls?: EtcdMemberTls;
}

export interface EtcdProcess {
  endpoint: string;
  pid: number;
  /** Resolves when the child exits for any reason. */
  exited: Promise<void>;
  stop(): Promise<void>;
}

export class EtcdStartError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
    this.name = "EtcdStartError";
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Stops an etcd a previous run of ours left behind (its parent was killed with SIGKILL): the pid
 * recorded next to the data dir, if it is still an etcd serving that very data dir.
 */
async function stopLeftover(pidFile: string, dataDir: string): Promise<void> {
  const pid = Number((await readFile(pidFile, "utf8").catch(() => "")).trim());
  if (!pid) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  if (!cmdline.startsWith("etcd\0") || !cmdline.includes(`--data-dir=${dataDir}\0`)) return;
  process.kill(pid, "SIGTERM");
  for (
    let i = 0;
    i < 100 && (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")) === cmdline;
    i++
  ) {
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startEtcdProcess(opts: EtcdProcessOptions): Promise<EtcdProcess> {
  await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  const pidFile = `${opts.dataDir}.pid`;
  await stopLeftover(pidFile, opts.dataDir);
  const clientPort = opts.clientPort ?? (await freePort());
  const peerPort = opts.peerPort ?? (await freePort());
  const scheme = opts.tls ? "https" : "http";
  const host = opts.advertiseHost ?? "127.0.0.1";
  const urls = (port: number) =>
    [...new Set(["127.0.0.1", host])].map((h) => `${scheme}://${h}:${port}`).join(",");
  const endpoint = `${scheme}://${host}:${clientPort}`;
  const peer = `${scheme}://${host}:${peerPort}`;
  const name = opts.name ?? "default";
  const args = [
    `--name=${name}`,
    `--data-dir=${opts.dataDir}`,
    `--listen-client-urls=${urls(clientPort)}`,
    `--advertise-client-urls=${endpoint}`,
    `--listen-peer-urls=${urls(peerPort)}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=${opts.initialCluster ?? `${name}=${peer}`}`,
    `--initial-cluster-state=${opts.initialClusterState ?? "new"}`,
    "--logger=zap",
    "--log-level=warn",
    // Keeps history bounded; watchers that fall behind get 410 Gone and relist, like Kubernetes.
    "--auto-compaction-mode=revision",
    "--auto-compaction-retention=10000",
  ];
  if (opts.tls) {
    args.push(
      `--trusted-ca-file=${opts.tls.caFile}`,
      `--cert-file=${opts.tls.serverCertFile}`,
      `--key-file=${opts.tls.serverKeyFile}`,
      "--client-cert-auth",
      `--peer-trusted-ca-file=${opts.tls.caFile}`,
      `--peer-cert-file=${opts.tls.peerCertFile}`,
      `--peer-key-file=${opts.tls.peerKeyFile}`,
      "--peer-client-cert-auth",
    );
  }
  if (opts.unsafeNoFsync) args.push("--unsafe-no-fsync");
  if (opts.logFile) args.push(`--log-outputs=${opts.logFile}`);
  const child: ChildProcess = spawn("etcd", args, {
    stdio: ["ignore", "ignore", "pipe"],
    // Progress notifications every 5 s, as kubeadm and k3s configure etcd: a watch cache of a
    // resource nobody writes learns that its revision is current, so a watch resuming from it after
    // an etcd reconnect is not needlessly older than the compaction (410 and a relist). Set through
    // the environment because etcd 3.6 renamed the flag: each version uses its own name and only
    // warns about the other.
    env: {
      ...process.env,
      ETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL: "5s",
      ETCD_WATCH_PROGRESS_NOTIFY_INTERVAL: "5s",
    },
  });
  let output = "";
  child.stderr?.on("data", (d: Buffer) => {
    output = (output + d.toString()).slice(-8192);
  });
  const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
  if (child.pid) await writeFile(pidFile, `${child.pid}\n`);
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(killer);
    }
    await rm(pidFile, { force: true });
  };
  const failure = await Promise.race([
    waitHealthy(`${scheme}://127.0.0.1:${clientPort}`, opts.tls, opts.startTimeoutMs ?? 20_000).then(
      () => undefined,
    ),
    exited.then(() => new Error(`etcd exited with ${child.exitCode ?? child.signalCode}`)),
    spawnError.then(
      (e) => new Error(`cannot run etcd (is the etcd-server package installed?): ${e.message}`),
    ),
  ]).catch((e: Error) => e);
  if (failure) {
    await stop();
    throw new EtcdStartError(`etcd in ${opts.dataDir} did not start: ${failure.message}`, output);
  }
  return { endpoint, pid: child.pid ?? 0, exited, stop };
}

async function waitHealthy(
  endpoint: string,
  tls: EtcdMemberTls | undefined,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await (tls ? httpsHealth(endpoint, tls) : fetch(`${endpoint}/health`).then((r) => r.ok)).catch(
      () => false, // not listening yet
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${endpoint}/health`);
}

/** etcd's /health over TLS with the apiserver's client certificate (the member demands one). */
async function httpsHealth(endpoint: string, tls: EtcdMemberTls): Promise<boolean> {
  const [ca, cert, key] = await Promise.all(
    [tls.caFile, tls.client.certFile, tls.client.keyFile].map((f) => readFile(f)),
  );
  return new Promise((resolve, reject) => {
    const req = request(`${endpoint}/health`, { ca, cert, key, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}
