/**
 * Runs short-lived system tools (ip, mount helpers) to completion and captures their output. A
 * non-zero exit becomes a `LabError` naming the exact command line and its stderr, so a failure in
 * the middle of building a lab says which step broke.
 */
import { spawn } from "node:child_process";
import { LabError } from "./errors.js";

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `argv` and resolves with its exit code and output; never rejects on a non-zero exit. */
export function runCommand(argv: readonly string[], input?: string): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.once("error", (err) =>
      reject(new LabError("CommandFailed", `cannot run ${argv.join(" ")}: ${err.message}`, { cause: err })),
    );
    child.once("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    if (input !== undefined) {
      // A tool that exits without reading its input must not crash this process with EPIPE.
      child.stdin?.on("error", () => undefined);
      child.stdin?.end(input);
    }
  });
}

/** Runs `argv` and returns its stdout; a non-zero exit throws `CommandFailed` with the stderr. */
export async function mustRun(argv: readonly string[], input?: string): Promise<string> {
  const res = await runCommand(argv, input);
  if (res.code !== 0) {
    const detail = res.stderr.trim() || res.stdout.trim() || `exit code ${res.code}`;
    throw new LabError("CommandFailed", `${argv.join(" ")}: ${detail}`);
  }
  return res.stdout;
}
