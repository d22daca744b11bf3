/**
 * Drives OCI runtimes the way the node agent will: the shim (release and sanitizer builds), crun
 * and runc, each with its own state root. crun is run in a private mount namespace with
 * /sys/fs/cgroup/unified unmounted because it refuses this host's hybrid cgroup layout otherwise.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const NATIVE_DIR = fileURLToPath(new URL("..", import.meta.url));
export const SHIM = join(NATIVE_DIR, "build/kshim");
export const SHIM_ASAN = join(NATIVE_DIR, "build/kshim-asan");

/** kshim-v2: the sanitizer build seeing the hybrid host's cgroup2 mount as /sys/fs/cgroup (pure v2). */
export type RuntimeKind = "kshim" | "kshim-asan" | "kshim-v2" | "crun" | "runc";

export interface OciRuntime {
  kind: RuntimeKind;
  /** State root passed as --root. */
  root: string;
  /** The command line for `args` (a runtime subcommand and its options). */
  command(args: string[]): [string, string[]];
}

const HYBRID_UNIFIED = "/sys/fs/cgroup/unified";

/** v1 controllers plus a cgroup2 mount at /sys/fs/cgroup/unified. */
export function isHybrid(): boolean {
  return existsSync(join(HYBRID_UNIFIED, "cgroup.controllers"));
}

/**
 * `binary` replaces the runtime's executable (e.g. a copy that an escape test may try to
 * overwrite); by default the build's kshim binaries and crun/runc from PATH.
 */
export function ociRuntime(kind: RuntimeKind, root: string, binary?: string): OciRuntime {
  const exe =
    binary ?? (kind === "kshim" ? SHIM : kind === "kshim-asan" || kind === "kshim-v2" ? SHIM_ASAN : kind);
  return {
    kind,
    root,
    command(args) {
      if (kind === "kshim-v2") {
        const script = `mount --bind ${HYBRID_UNIFIED} /sys/fs/cgroup && exec "$0" "$@"`;
        return [
          "unshare",
          ["-m", "--propagation", "slave", "sh", "-c", script, exe, "--root", root, ...args],
        ];
      }
      if (kind === "crun" && isHybrid()) {
        const script = `umount ${HYBRID_UNIFIED} && exec "$0" "$@"`;
        return [
          "unshare",
          ["-m", "--propagation", "slave", "sh", "-c", script, exe, "--root", root, ...args],
        ];
      }
      return [exe, ["--root", root, ...args]];
    },
  };
}

export interface Exec {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a runtime command. stdout/stderr go through files, not pipes: a detached container
 * inherits them from crun/runc and would hold a pipe open long after the command returned.
 */
export async function runtimeExec(rt: OciRuntime, args: string[], tmpDir: string): Promise<Exec> {
  const [cmd, argv] = rt.command(args);
  const outPath = join(tmpDir, `out-${process.hrtime.bigint()}`);
  const errPath = `${outPath}.err`;
  const out = openSync(outPath, "w");
  const err = openSync(errPath, "w");
  try {
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(cmd, argv, { stdio: ["ignore", out, err] });
      child.on("error", reject);
      child.on("exit", (c, sig) => resolve(c ?? 128 + (sig === "SIGKILL" ? 9 : 15)));
    });
    return { code, stdout: readFileSync(outPath, "utf8"), stderr: readFileSync(errPath, "utf8") };
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

/** Throws with the command's stderr unless it exited 0. */
export async function runtimeOk(rt: OciRuntime, args: string[], tmpDir: string): Promise<Exec> {
  const r = await runtimeExec(rt, args, tmpDir);
  if (r.code !== 0) throw new Error(`${rt.kind} ${args.join(" ")}: exit ${r.code}: ${r.stderr.trim()}`);
  return r;
}

export interface ContainerState {
  status: string;
  pid: number;
  exitCode?: number;
  signal?: number;
  oomKilled?: boolean;
  logPath?: string;
}

export async function stateOf(rt: OciRuntime, id: string, tmpDir: string): Promise<ContainerState> {
  const r = await runtimeOk(rt, ["state", id], tmpDir);
  return JSON.parse(r.stdout) as ContainerState;
}

/** Polls `state` until the container is stopped (the shim's monitor has then written exit.json). */
export async function waitStopped(rt: OciRuntime, id: string, tmpDir: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await stateOf(rt, id, tmpDir);
    if (s.status === "stopped") return s;
    if (Date.now() > deadline) throw new Error(`${rt.kind} ${id}: still ${s.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const CRI_LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (stdout|stderr) ([FP]) (.*)$/;

/** Splits a CRI log into the two streams; throws on a line that is not in the CRI format. */
export function parseCriLog(text: string): { stdout: string; stderr: string } {
  const out = { stdout: "", stderr: "" };
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const m = CRI_LINE.exec(line);
    if (m === null) throw new Error(`not a CRI log line: ${JSON.stringify(line)}`);
    out[m[2] as "stdout" | "stderr"] += m[4] + (m[3] === "F" ? "\n" : "");
  }
  return out;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  state?: ContainerState;
}

/**
 * Runs a bundle to completion and deletes the container. The shim goes through create, start,
 * state and its CRI log; crun and runc through `run`, whose exit code is the container's.
 */
export async function runToExit(
  rt: OciRuntime,
  bundle: string,
  id: string,
  tmpDir: string,
): Promise<RunResult> {
  if (rt.kind === "crun" || rt.kind === "runc") {
    const r = await runtimeExec(rt, ["run", "--bundle", bundle, id], tmpDir);
    await runtimeExec(rt, ["delete", "--force", id], tmpDir);
    return { exitCode: r.code, stdout: r.stdout, stderr: r.stderr };
  }
  await runtimeOk(rt, ["create", "--bundle", bundle, id], tmpDir);
  try {
    await runtimeOk(rt, ["start", id], tmpDir);
    const state = await waitStopped(rt, id, tmpDir);
    const log = parseCriLog(readFileSync(state.logPath ?? "", "utf8"));
    return { exitCode: state.exitCode ?? -1, ...log, state };
  } finally {
    await runtimeExec(rt, ["delete", "--force", id], tmpDir);
  }
}
