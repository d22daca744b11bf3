/**
 * What a kctl command is and what it gets to run: its row in the command table (name and summary,
 * the module loaded only when needed), its flags and usage for the parser and help, and a context
 * with the parsed arguments, the process's I/O (injected so tests run the CLI in-process) and a
 * lazily opened API connection (`kctl up` never opens one).
 */

import type { Clock } from "../foundation/util/clock.js";
import type { FlagSpec, Flags } from "./args.js";
import type { ApiClient } from "./client.js";
import type { ClusterAccess } from "./config.js";

export interface Output {
  write(text: string | Uint8Array): unknown;
}

export interface CliIO {
  stdout: Output;
  stderr: Output;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  clock: Clock;
  /** Aborted on SIGINT/SIGTERM: watches end and requests are cancelled. */
  signal: AbortSignal;
}

export interface Connection {
  client: ApiClient;
  access: ClusterAccess;
}

export interface CommandContext {
  io: CliIO;
  positionals: readonly string[];
  flags: Flags;
  /** The resolved config file path (`--config`, `KCTL_CONFIG`, `~/.kctl/config`). */
  configPath: string;
  /** Reads the config and opens a client; the same connection on every call, closed by main. */
  connect(): Promise<Connection>;
}

/**
 * A row of the command table: what the command list and "unknown command" need, without importing
 * the command. `load` imports its module; a process loads only the command it runs (and, for flags
 * given before the command word, the commands the parser asks about).
 */
export interface CommandEntry {
  name: string;
  /** One line for the command list. */
  summary: string;
  load(): Promise<Command>;
}

/** A command's module: what its help shows and what it runs. */
export interface Command {
  /** The synopsis, e.g. `kctl get KIND[,KIND] [NAME...] [flags]`, and examples. */
  usage: string;
  flags: readonly FlagSpec[];
  /** Returns the exit code (0 when everything worked). */
  run(ctx: CommandContext): Promise<number>;
}
