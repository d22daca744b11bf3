/**
 * Drives an OCI runtime binary (the project's kshim; runc and crun accept the same commands) for
 * the agent: create+start, state, kill, delete, exec. Exit records (code, signal, OOM) come from
 * the shim's monitor, which writes `exit.json` into the container's state dir; they outlive the
 * agent, so a restarted agent learns how its containers ended.
 *
 * The one-shot calls (`run --detach`, `kill`, `delete`, `state`) go through a command-runner helper
 * of this client's own (node-agent/util/command-runner.ts, started with the first call): a pod
 * start and stop forks the agent for none of them, and a slow call (a `delete` waiting for its
 * monitor) does not hold up another. If the helper dies, the calls it was running fail naming
 * themselves and the next call starts a new one. `exec` and its interactive forms still spawn the
 * runtime from the agent: their stdin and output are streams.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { CommandRunner } from "../../util/command-runner.js";
import { readKshimState } from "./kshim-state.js";

export class RuntimeError extends Error {
  constructor(
    readonly command: string,
    readonly id: string,
    message: string,
  ) {
    super(`${command} ${id}: ${message}`);
    this.name = "RuntimeError";
  }
}

export interface ContainerExit {
  exitCode: number;
  signal: number;
  oomKilled: boolean;
  finishedAt: string;
}

export interface ContainerState {
  status: "created" | "running" | "stopped";
  pid: number;
  logPath?: string;
  /** Present once the monitor reaped the container. */
  exit?: ContainerExit;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export class RuntimeClient {
  constructor(
    /** Path of the runtime binary. */
    private readonly binary: string,
    /** Its `--root`: where it keeps container state. */
    readonly root: string,
    /** Runs the one-shot calls; its helper is this client's alone. */
    readonly runner = new CommandRunner(),
  ) {}

  /**
   * The ids of the containers whose state is under `root`. The runtime may keep its own files there
   * too (kshim's compiled seccomp profiles in `.seccomp-cache`); a container id never starts with a
   * dot.
   */
  async containerIds(): Promise<string[]> {
    const entries = await readdir(this.root).catch(() => [] as string[]);
    return entries.filter((e) => !e.startsWith("."));
  }

  private async run(args: string[], id: string, timeoutMs = 30_000): Promise<string> {
    const command = args[0] ?? "";
    const argv = [this.binary, "--root", this.root, ...args];
    const result = await this.runner.run(argv, timeoutMs).catch((err: Error) => {
      throw new RuntimeError(command, id, err.message);
    });
    if (result.exitCode !== 0 || result.timedOut) {
      // The message execFile gave, which callers match ("does not exist", "not running").
      throw new RuntimeError(command, id, (result.stderr || `Command failed: ${argv.join(" ")}`).trim());
    }
    return result.stdout;
  }

  /**
   * Creates and starts the container from `bundle`; resolves once it runs. One runtime process
   * (`run --detach`, as runc and crun have it) rather than `create` then `start`.
   */
  async createAndStart(id: string, bundle: string): Promise<void> {
    try {
      await this.run(["run", "--detach", id, "--bundle", bundle], id);
    } catch (err) {
      // A create killed half-way (timeout) leaves its state dir, and the retry with the same id
      // would then fail with "already exists" forever.
      await this.delete(id, true).catch(() => undefined);
      throw err;
    }
  }

  /**
   * The container's state, or undefined when the runtime does not know it. Read from kshim's state
   * dir in this process when it is there (no spawn: the worker asks every second per container);
   * asked of the runtime binary otherwise (another runtime's layout, a create still under way).
   */
  async state(id: string): Promise<ContainerState | undefined> {
    const state: ContainerState | undefined =
      (await readKshimState(this.root, id)) ?? (await this.stateFromRuntime(id));
    if (state?.status === "stopped") {
      const exit = await readFile(join(this.root, id, "exit.json"), "utf8").then(
        (t) => JSON.parse(t) as ContainerExit,
        () => undefined,
      );
      if (exit) state.exit = exit;
    }
    return state;
  }

  private async stateFromRuntime(id: string): Promise<ContainerState | undefined> {
    let out: string;
    try {
      out = await this.run(["state", id], id);
    } catch (err) {
      if (/does not exist|not found|no such/i.test((err as Error).message)) return undefined;
      throw err;
    }
    const raw = JSON.parse(out) as { status: ContainerState["status"]; pid?: number; logPath?: string };
    const state: ContainerState = { status: raw.status, pid: raw.pid ?? 0 };
    if (raw.logPath) state.logPath = raw.logPath;
    return state;
  }

  async kill(id: string, signal: "TERM" | "KILL" | string): Promise<void> {
    try {
      await this.run(["kill", id, signal], id);
    } catch (err) {
      if (!/not running|does not exist|stopped|no such process/i.test((err as Error).message)) throw err;
    }
  }

  /** Removes the container; with `force` it is killed first. Idempotent. */
  async delete(id: string, force = false): Promise<void> {
    try {
      await this.run(["delete", ...(force ? ["--force"] : []), id], id);
    } catch (err) {
      if (!/does not exist|not found|no such/i.test((err as Error).message)) throw err;
    }
  }

  /** Runs `command` inside the container's namespaces and cgroup. */
  exec(id: string, command: string[], timeoutMs: number, stdin?: string): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      const child = this.spawnExec(id, command);
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      child.on("error", (err) => {
        clearTimeout(timer);
        reject(new RuntimeError("exec", id, err.message));
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        resolve({ exitCode: code ?? (signal ? 128 + 9 : -1), stdout, stderr });
      });
      child.stdin.end(stdin ?? "");
    });
  }

  /**
   * A connection to the stdin of a container created with an attachable stdin (kshim's
   * `<root>/<id>/attach.sock`); what is written to it reaches the container's stdin.
   */
  attachStdin(id: string): Socket {
    return connect(join(this.root, id, "attach.sock"));
  }

  /**
   * Starts an interactive exec; the caller owns the child's stdio. With `tty` the command runs on a
   * pseudo-terminal whose output is the child's stdout, and the child's fd 3 (`stdio[3]`) takes
   * window sizes as lines "ROWS COLS\n".
   */
  spawnExec(id: string, command: string[], tty = false) {
    const terminal = tty ? ["--tty", "--resize-fd", "3"] : [];
    const child = spawn(this.binary, ["--root", this.root, "exec", id, ...terminal, "--", ...command], {
      stdio: ["pipe", "pipe", "pipe", tty ? "pipe" : "ignore"],
    }) as ChildProcessWithoutNullStreams;
    // A command that exits without reading its stdin makes the next write fail with EPIPE; unheard,
    // that error would take the whole agent down. The exit code still tells the caller what happened.
    child.stdin.on("error", () => undefined);
    child.stdio[3]?.on("error", () => undefined);
    return child;
  }
}
