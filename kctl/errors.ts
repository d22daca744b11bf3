/**
 * The CLI's error kinds and how each is printed. Commands throw; only `main` prints and picks the
 * exit code: 2 for a usage mistake, 1 for everything else. Server errors print like kubectl's
 * `Error from server (NotFound): deployments.apps "web" not found`.
 */

import { isApiError } from "../foundation/api/errors.js";

/** A mistake in the command line itself (unknown command or flag, bad flag value): exit 2 with usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * A failure the user can act on: bad input files, missing config, unreachable server. Each entry of
 * `lines` is printed as its own `error: ...` line.
 */
export class CliError extends Error {
  readonly lines: readonly string[];

  constructor(lines: string | readonly string[]) {
    const all = typeof lines === "string" ? [lines] : lines;
    super(all.join("\n"));
    this.name = "CliError";
    this.lines = all;
  }
}

/** The line(s) printed for an error, without the trailing newline. */
export function errorLines(err: unknown): string[] {
  if (err instanceof CliError) return err.lines.map((l) => `error: ${l}`);
  if (err instanceof UsageError) return [`error: ${err.message}`];
  if (isApiError(err)) return [`Error from server (${err.reason}): ${err.message}`];
  if (err instanceof Error) return [`error: ${err.message}`];
  return [`error: ${String(err)}`];
}
