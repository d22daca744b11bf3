/**
 * Runs one runtime command and collects its output. The command's own exit ends the wait, not the
 * closing of its pipes: a runtime's detached helpers may inherit them and hold them open.
 */
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { RuntimeError } from "./errors.js";

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  timeoutMs: number;
  /** Named in errors: `kshim start web-1`. */
  what: string;
}

/**
 * Spawns `argv` and resolves with its exit code (128+signal when killed) and output. After
 * `timeoutMs` the process is SIGKILLed and the promise rejects with `Timeout`.
 */
export function runCommand(argv: readonly string[], options: CommandOptions): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new RuntimeError("Timeout", `${options.what}: no answer after ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    child.on("error", (e) => {
      done = true;
      clearTimeout(timer);
      reject(new RuntimeError("CommandFailed", `${options.what}: ${e.message}`, { cause: e }));
    });
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let done = false;
    const finish = () => {
      if (done || exit === undefined) return;
      done = true;
      clearTimeout(timer);
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({
        code: exit.code ?? 128 + (exit.signal === null ? 9 : constants.signals[exit.signal]),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    };
    child.on("close", finish);
    child.on("exit", (code, signal) => {
      exit = { code, signal };
      // Output already written is in the pipes; a short grace lets it land when a helper that
      // inherited them keeps 'close' from coming.
      setTimeout(finish, 20);
    });
  });
}
