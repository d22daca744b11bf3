/**
 * Drives an OCI runtime binary — the project's shim (`kshim`), or `runc`/`crun` as drop-in peers —
 * through its CLI: create+start, state, kill, delete, exec. The binary and its state root are
 * settings. The shim brings its own per-container monitor (exit status, OOM flag and a CRI log in
 * its state dir); for runc and crun the driver runs the container under `run` with a monitor in the
 * agent ({@link startMonitored}) that writes the same files, so callers see one behaviour.
 *
 * Every method is idempotent where Kubernetes needs it to be: deleting or killing a container that
 * is gone is not an error, and `state` of an unknown container is `undefined`.
 */
import { basename, join } from "node:path";
import { tracer } from "../../../controlplane/util/trace.js";
import {
  type ExitInfo,
  monitorLogPath,
  readExit,
  removeMonitorDir,
  startMonitored,
} from "./agent-monitor.js";
import { RuntimeError } from "./errors.js";
import { type CommandResult, runCommand } from "./run-command.js";

const trace = tracer("runtime");

export interface RuntimeDriverOptions {
  /** The runtime binary: a path to kshim, or `runc`/`crun`. */
  binary: string;
  /** The runtime's state root (`--root`). */
  root: string;
  /**
   * Whether the runtime monitors its containers itself (`"runtime"`, kshim) or the agent must
   * (`"agent"`, runc and crun). Defaults from the binary's name.
   */
  monitor?: "runtime" | "agent";
  /** Limit for one runtime command other than exec; defaults to 30 s. */
  commandTimeoutMs?: number;
}

export interface ContainerRuntimeState {
  id: string;
  /** `created`, `running` or `stopped`. */
  status: string;
  /** The init process's pid on the host; 0 once stopped. */
  pid: number;
  /** Set once stopped: the exit code (128+n for signal n), -1 when no monitor saw the exit. */
  exitCode?: number;
  signal?: number;
  oomKilled?: boolean;
  finishedAt?: string;
  /** The container's stdout/stderr in CRI format. */
  logPath?: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const DOES_NOT_EXIST = /does not exist|not found|no such/i;

export class OciRuntimeDriver {
  readonly binary: string;
  readonly root: string;
  readonly monitor: "runtime" | "agent";
  private readonly timeoutMs: number;
  /** Containers this driver runs under its own monitor: settles when their exit is saved. */
  private readonly monitored = new Map<string, Promise<void>>();

  constructor(options: RuntimeDriverOptions) {
    if (options.binary === "") throw new RuntimeError("Invalid", "runtime binary: must not be empty");
    if (!options.root.startsWith("/")) {
      throw new RuntimeError("Invalid", `runtime root: "${options.root}" must be an absolute path`);
    }
    this.binary = options.binary;
    this.root = options.root;
    this.monitor = options.monitor ?? (basename(options.binary).startsWith("kshim") ? "runtime" : "agent");
    this.timeoutMs = options.commandTimeoutMs ?? 30_000;
  }

  /** A short name for events and metrics: `kshim`, `runc`. */
  get name(): string {
    return basename(this.binary);
  }

  /**
   * Creates and starts container `id` from the bundle dir and returns its state (running, or
   * already stopped if it exited at once). On failure nothing of the attempt is left behind.
   */
  async run(id: string, bundle: string): Promise<ContainerRuntimeState> {
    checkId(id);
    const started = performance.now();
    try {
      if (this.monitor === "runtime") {
        await this.ok(["create", id, "--bundle", bundle], `create ${id}`);
        await this.ok(["start", id], `start ${id}`);
      } else {
        const dir = this.monitorDir(id);
        const { exited } = await startMonitored(
          [this.binary, "--root", this.root, "run", id, "--bundle", bundle, "--pid-file", join(dir, "pid")],
          dir,
          `${this.name} run ${id}`,
        );
        this.monitored.set(id, exited);
        void exited.then(() => this.monitored.delete(id));
      }
    } catch (err) {
      await this.delete(id).catch(() => undefined);
      throw err;
    }
    trace("run", { id, ms: Math.round(performance.now() - started) });
    const state = await this.state(id);
    if (state === undefined)
      throw new RuntimeError("NotFound", `${this.name} run ${id}: gone right after start`);
    return state;
  }

  /** The container's state, or `undefined` when the runtime does not know it. */
  async state(id: string): Promise<ContainerRuntimeState | undefined> {
    checkId(id);
    const r = await this.exec_(["state", id], `state ${id}`);
    if (r.code !== 0) {
      if (!DOES_NOT_EXIST.test(r.stderr)) throw this.failed(`state ${id}`, r);
      // runc removes a container run under `run` when it exits; the agent's monitor kept its exit.
      const exit = this.monitor === "agent" ? await readExit(this.monitorDir(id)) : undefined;
      return exit === undefined ? undefined : this.stopped(id, exit);
    }
    const raw = parseState(r.stdout, `${this.name} state ${id}`);
    const state: ContainerRuntimeState = {
      id,
      status: raw.status,
      pid: raw.status === "stopped" ? 0 : raw.pid,
    };
    if (this.monitor === "runtime") {
      if (raw.logPath !== undefined) state.logPath = raw.logPath;
      if (raw.status === "stopped") {
        state.exitCode = raw.exitCode ?? -1;
        state.signal = raw.signal ?? 0;
        state.oomKilled = raw.oomKilled ?? false;
        if (raw.finishedAt !== undefined) state.finishedAt = raw.finishedAt;
      }
      return state;
    }
    state.logPath = monitorLogPath(this.monitorDir(id));
    if (raw.status === "stopped") {
      // runc says stopped a moment before its `run` returns; wait for the monitor to save the exit.
      await this.monitored.get(id);
      const exit = await readExit(this.monitorDir(id));
      return this.stopped(id, exit ?? { exitCode: -1, signal: 0, oomKilled: false, finishedAt: "" });
    }
    return state;
  }

  /** Sends `signal` (`TERM`, `KILL`, ...) to the container's init. A stopped or unknown container is fine. */
  async kill(id: string, signal: string): Promise<void> {
    checkId(id);
    const r = await this.exec_(["kill", id, signal], `kill ${id} ${signal}`);
    if (r.code !== 0 && !DOES_NOT_EXIST.test(r.stderr) && !/stopped|not running/i.test(r.stderr)) {
      throw this.failed(`kill ${id} ${signal}`, r);
    }
  }

  /** Removes the container (killing it if it runs) and its runtime state. Idempotent. */
  async delete(id: string): Promise<void> {
    checkId(id);
    const r = await this.exec_(["delete", "--force", id], `delete ${id}`);
    if (r.code !== 0 && !DOES_NOT_EXIST.test(r.stderr)) throw this.failed(`delete ${id}`, r);
    if (this.monitor === "agent") await removeMonitorDir(this.monitorDir(id));
  }

  /**
   * Runs `argv` inside the running container and returns its exit code and output (a runtime that
   * cannot exec, e.g. into a stopped container, shows as a non-zero code with its message). After
   * `timeoutMs` the exec is killed and the promise rejects with `Timeout`.
   */
  async exec(id: string, argv: readonly string[], timeoutMs: number): Promise<ExecResult> {
    checkId(id);
    if (argv.length === 0) throw new RuntimeError("Invalid", `exec ${id}: the command is empty`);
    // The shim wants `--` before the command; runc takes everything after the id as the command.
    const separator = this.name.startsWith("kshim") ? ["--"] : [];
    const r = await runCommand([this.binary, "--root", this.root, "exec", id, ...separator, ...argv], {
      timeoutMs,
      what: `${this.name} exec ${id}`,
    });
    return { exitCode: r.code, stdout: r.stdout, stderr: r.stderr };
  }

  private stopped(id: string, exit: ExitInfo): ContainerRuntimeState {
    return { id, status: "stopped", pid: 0, ...exit, logPath: monitorLogPath(this.monitorDir(id)) };
  }

  private monitorDir(id: string): string {
    return join(`${this.root}.monitor`, id);
  }

  private exec_(args: string[], what: string): Promise<CommandResult> {
    return runCommand([this.binary, "--root", this.root, ...args], {
      timeoutMs: this.timeoutMs,
      what: `${this.name} ${what}`,
    });
  }

  private async ok(args: string[], what: string): Promise<CommandResult> {
    const r = await this.exec_(args, what);
    if (r.code !== 0) throw this.failed(what, r);
    return r;
  }

  private failed(what: string, r: CommandResult): RuntimeError {
    const code = DOES_NOT_EXIST.test(r.stderr) ? "NotFound" : "CommandFailed";
    return new RuntimeError(
      code,
      `${this.name} ${what}: exit ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`,
    );
  }
}

interface RawState {
  status: string;
  pid: number;
  exitCode?: number;
  signal?: number;
  oomKilled?: boolean;
  finishedAt?: string;
  logPath?: string;
}

function parseState(text: string, what: string): RawState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new RuntimeError("CommandFailed", `${what}: output is not JSON: ${text.slice(0, 200)}`, {
      cause: err,
    });
  }
  const s = raw as Partial<RawState>;
  if (typeof s !== "object" || s === null || typeof s.status !== "string" || typeof s.pid !== "number") {
    throw new RuntimeError("CommandFailed", `${what}: output lacks status or pid: ${text.slice(0, 200)}`);
  }
  return s as RawState;
}

function checkId(id: string): void {
  if (!CONTAINER_ID.test(id) || id.includes("..")) {
    throw new RuntimeError(
      "Invalid",
      `container id: "${id}" must be letters, digits, '-', '_' or '.' (at most 128)`,
    );
  }
}
