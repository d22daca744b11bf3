/**
 * Runs kctl in-process for tests: `main(argv, io)` with captured stdout/stderr, a given stdin and
 * environment, the real clock, and an abort signal the test controls (for `get -w`).
 */

import { Readable } from "node:stream";
import { realClock } from "../../foundation/util/clock.js";
import { main } from "../cli.js";

export interface KctlRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stdin?: string;
  signal?: AbortSignal;
  /** Called with everything written to stdout so far, after each write. */
  onStdout?: (soFar: string) => void;
  /** Called with everything written to stderr so far, after each write. */
  onStderr?: (soFar: string) => void;
}

export async function runKctl(argv: readonly string[], opts: RunOptions = {}): Promise<KctlRun> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, {
    stdout: {
      write: (text: string) => {
        stdout += text;
        opts.onStdout?.(stdout);
      },
    },
    stderr: {
      write: (text: string) => {
        stderr += text;
        opts.onStderr?.(stderr);
      },
    },
    stdin: Readable.from(opts.stdin === undefined ? [] : [Buffer.from(opts.stdin)]),
    env: opts.env ?? {},
    cwd: opts.cwd ?? process.cwd(),
    clock: realClock,
    signal: opts.signal ?? new AbortController().signal,
  });
  return { code, stdout, stderr };
}
