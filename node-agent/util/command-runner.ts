/**
 * Runs programs for the agent through its command-runner helper (native/build/command-runner,
 * native/tools/command-runner.c) instead of `child_process`: Node forks the whole agent (about
 * 100 MiB resident) on its event loop for every process it starts, the helper forks only itself
 * (about 1 MiB). Programs run concurrently and each call resolves when its program exits, in
 * whatever order they end. For programs whose output is small and whose input is none (stdin is
 * /dev/null): each output is cut to fit the helper's one-write answer (at most PIPE_BUF bytes for
 * both, ending `[... N bytes in all]` when cut). Interactive streams still need `child_process`.
 */
import { spawn } from "node:child_process";
import { nativeBuildPath } from "./native-build.js";
import { NativeHelper } from "./native-helper.js";

export interface CommandResult {
  /** The exit code, or 128 + the signal that killed the program. */
  exitCode: number;
  /** Killed by the helper at the call's timeout. */
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

/** A program that could not be run, or whose helper ended before it answered. */
export class CommandRunnerError extends Error {
  constructor(
    readonly command: string,
    message: string,
  ) {
    super(`${command}: ${message}`);
    this.name = "CommandRunnerError";
  }
}

export class CommandRunner {
  private readonly helper: NativeHelper;

  constructor(binary = nativeBuildPath("command-runner")) {
    this.helper = new NativeHelper({
      start: () => spawn(binary, [], { stdio: ["pipe", "pipe", "pipe"] }),
      failure: (what, message) => new CommandRunnerError(what, message),
    });
  }

  /** The helper's pid while it runs (it starts with the first call). */
  get helperPid(): number | undefined {
    return this.helper.pid;
  }

  /** Runs `argv` (the program, looked up in PATH without a slash, and its arguments); SIGKILL after `timeoutMs` (0: never). */
  async run(argv: readonly string[], timeoutMs: number): Promise<CommandResult> {
    const answer = await this.helper.request([String(timeoutMs), ...argv], argv.join(" "));
    const [code, how, stdout = "", stderr = ""] = answer.split("\t");
    return {
      exitCode: Number(code),
      timedOut: how === "timed-out",
      stdout: unescapeOutput(stdout),
      stderr: unescapeOutput(stderr),
    };
  }
}

const ESCAPES: Record<string, string> = { "\\": "\\", t: "\t", n: "\n", r: "\r" };

/** Undoes the helper's escaping of an output: `\\`, `\t`, `\n`, `\r` and `\xHH`. */
function unescapeOutput(text: string): string {
  return text.replace(/\\(x[0-9a-f]{2}|.)/g, (_, e: string) =>
    e.length === 3 ? String.fromCharCode(Number.parseInt(e.slice(1), 16)) : (ESCAPES[e] ?? e),
  );
}
