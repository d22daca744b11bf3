/**
 * Starts lab components as detached processes inside a namespace and stops them again by pid.
 * A component is started as `sh` (which moves itself into the component's cgroups) exec'ing
 * `nsenter --net` exec'ing the component, so the recorded pid is the component's own pid and the
 * component is in its cgroups before it can fork. `nsenter --net` rather than `ip netns exec`: the
 * latter gives the process a private mount namespace, which would hide an agent's mounts (pod netns
 * bind mounts, overlay rootfs) from a restarted agent and from `lab down`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { LabError } from "./errors.js";
import type { LabProcess } from "./lab-state.js";
import { NETNS_DIR } from "./topology-linux.js";

/** What to run for one component; produced by the components hook. */
export interface ComponentSpec {
  argv: string[];
  env?: Record<string, string>;
}

export interface StartRequest {
  name: string;
  spec: ComponentSpec;
  namespace: string;
  stateDir: string;
  logFile: string;
  /** The component's cgroup directories, already created. */
  cgroups: string[];
}

export interface StartedComponent {
  record: LabProcess;
  /** Resolves with a description of how the process ended (only while this process is its parent). */
  exited: Promise<string>;
}

// Exit status used by the wrapper when it cannot join a cgroup, so the failure is recognisable.
const CGROUP_JOIN_FAILED = 97;
const JOIN_AND_EXEC = `while [ "$1" != -- ]; do echo $$ > "$1" || exit ${CGROUP_JOIN_FAILED}; shift; done; shift; exec "$@"`;

interface ProcStat {
  state: string;
  startTime: string;
}

async function readProcStat(pid: number): Promise<ProcStat | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses; fields after it are plain.
    const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { state: rest[0] ?? "", startTime: rest[19] ?? "" };
  } catch {
    return undefined;
  }
}

/** True while `pid` is the very process recorded (not a recycled pid) and has not exited. */
export async function isRunning(proc: Pick<LabProcess, "pid" | "startTime">): Promise<boolean> {
  const stat = await readProcStat(proc.pid);
  return stat !== undefined && stat.startTime === proc.startTime && stat.state !== "Z" && stat.state !== "X";
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (code === CGROUP_JOIN_FAILED) return "could not join its cgroups";
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

/** Starts `req` detached (its own session), stdout and stderr appended to its log file. */
export async function startComponent(req: StartRequest): Promise<StartedComponent> {
  const argv = [
    "/bin/sh",
    "-c",
    JOIN_AND_EXEC,
    `kctl-lab-${req.name}`,
    ...req.cgroups.map((dir) => join(dir, "cgroup.procs")),
    "--",
    "nsenter",
    `--net=${join(NETNS_DIR, req.namespace)}`,
    "--",
    ...req.spec.argv,
  ];
  const log = openSync(req.logFile, "a", 0o600);
  let child: ChildProcess;
  try {
    child = spawn(argv[0]!, argv.slice(1), {
      cwd: req.stateDir,
      env: { ...process.env, ...req.spec.env },
      stdio: ["ignore", log, log],
      detached: true,
    });
  } finally {
    closeSync(log);
  }
  const exited = new Promise<string>((resolve) => {
    child.once("error", (err) => resolve(`could not start: ${err.message}`));
    child.once("exit", (code, signal) => resolve(describeExit(code, signal)));
  });
  child.unref();
  const pid = child.pid;
  const stat = pid === undefined ? undefined : await readProcStat(pid);
  if (pid === undefined || stat === undefined) {
    throw new LabError("ComponentFailed", `${req.name}: ${await exited} (${req.spec.argv.join(" ")})`);
  }
  return {
    record: {
      name: req.name,
      pid,
      startTime: stat.startTime,
      argv: req.spec.argv,
      namespace: req.namespace,
      stateDir: req.stateDir,
      logFile: req.logFile,
      cgroups: req.cgroups,
    },
    exited,
  };
}

async function waitGone(procs: readonly LabProcess[], timeoutMs: number): Promise<LabProcess[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive: LabProcess[] = [];
    for (const p of procs) if (await isRunning(p)) alive.push(p);
    if (alive.length === 0 || Date.now() >= deadline) return alive;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function signal(procs: readonly LabProcess[], sig: NodeJS.Signals): void {
  for (const p of procs) {
    try {
      process.kill(p.pid, sig);
    } catch {
      // exited between the check and the signal
    }
  }
}

/**
 * Stops the recorded processes that still run: SIGTERM, up to `graceMs` to exit, then SIGKILL.
 * A pid whose start time differs from the record belongs to someone else and is left alone.
 */
export async function stopProcesses(procs: readonly LabProcess[], graceMs: number): Promise<void> {
  const running: LabProcess[] = [];
  for (const p of procs) if (await isRunning(p)) running.push(p);
  signal(running, "SIGTERM");
  const stubborn = await waitGone(running, graceMs);
  signal(stubborn, "SIGKILL");
  const left = await waitGone(stubborn, 5_000);
  if (left.length > 0) {
    throw new LabError(
      "Timeout",
      `still running after SIGKILL: ${left.map((p) => `${p.name} (pid ${p.pid})`).join(", ")}`,
    );
  }
}
