/**
 * A control plane in a process of its own for one benchmark run (control-plane-process.ts), so its
 * resident memory and CPU are read from /proc apart from the load generator's. Every run gets a
 * fresh state dir holding the one CA all runs share, so node certificates are issued once.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ControlPlaneOptions } from "../../../controlplane/control-plane.js";
import { ApiClient } from "../../../kctl/client.js";

/** What control-plane-process.ts prints once the plane is ready. */
export interface PlaneInfo {
  apiUrl: string;
  nodeServiceAddress: string;
  caPem: string;
  adminToken: string;
}

export interface PlaneProcess {
  child: ChildProcess;
  info: PlaneInfo;
  /** The run's state dir; its pki/ holds the shared CA (hollow fleets sign with it). */
  stateDir: string;
  /** An admin client of the plane's HTTPS API, `namespace` its default. */
  client(namespace: string): ApiClient;
  /** SIGTERM, SIGKILL after 15 s; then removes the run's state dir. */
  stop(): Promise<void>;
}

export interface PlaneProcessOptions {
  /** Holds ca.crt and ca.key, copied into the run's state dir. */
  caDir: string;
  /** Prefix of the run's temporary state dir, e.g. "kctl-sched-bench-". */
  prefix: string;
  options: Omit<ControlPlaneOptions, "stateDir">;
  /** Node's own flags for the child (V8 settings, a CPU profile). */
  nodeFlags?: readonly string[];
}

const script = join(import.meta.dirname, "control-plane-process.js");

/** Starts the plane and resolves once it is ready; on failure nothing is left behind. */
export async function startPlaneProcess(opts: PlaneProcessOptions): Promise<PlaneProcess> {
  const stateDir = await mkdtemp(join(tmpdir(), opts.prefix));
  await mkdir(join(stateDir, "pki"), { recursive: true, mode: 0o700 });
  for (const f of ["ca.crt", "ca.key"]) await copyFile(join(opts.caDir, f), join(stateDir, "pki", f));
  const child = spawn(
    process.execPath,
    [...(opts.nodeFlags ?? []), script, JSON.stringify({ ...opts.options, stateDir })],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const stop = async () => {
    await stopChild(child);
    await rm(stateDir, { recursive: true, force: true });
  };
  try {
    const info = await new Promise<PlaneInfo>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const nl = out.indexOf("\n");
        if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as PlaneInfo);
      });
      child.on("exit", (code) =>
        reject(new Error(`the control plane process exited (${code}) before it was ready`)),
      );
    });
    const client = (namespace: string) =>
      new ApiClient({
        server: info.apiUrl,
        caPem: info.caPem,
        token: info.adminToken,
        insecureSkipTlsVerify: false,
        namespace,
        path: "(benchmark)",
      });
    return { child, info, stateDir, client, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}
