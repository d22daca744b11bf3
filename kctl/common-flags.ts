/** Flags several commands share, spelled like kubectl's. */

import type { FlagSpec } from "./args.js";
import { CliError } from "./errors.js";

export const namespaceFlag: FlagSpec = {
  name: "namespace",
  short: "n",
  kind: "string",
  placeholder: "NS",
  help: 'the namespace (default: the config\'s context namespace, else "default")',
};

export const allNamespacesFlag: FlagSpec = {
  name: "all-namespaces",
  short: "A",
  kind: "boolean",
  help: "across all namespaces",
};

export const selectorFlag: FlagSpec = {
  name: "selector",
  short: "l",
  kind: "string",
  placeholder: "SELECTOR",
  help: "label selector, e.g. app=web,tier!=db,env in (a,b)",
};

export const filenameFlag: FlagSpec = {
  name: "filename",
  short: "f",
  kind: "strings",
  placeholder: "FILE|DIR|-",
  help: "a manifest file, a directory (read recursively) or - for stdin; repeatable",
};

export const dryRunFlag: FlagSpec = {
  name: "dry-run",
  kind: "string",
  choices: ["none", "server", "client"],
  bareValue: "client",
  placeholder: "server|client",
  help: "server: validate on the server without writing; client: only show what would be sent",
};

/** What a line about an object ends with under `--dry-run`: " (server dry run)", " (dry run)" or nothing. */
export function dryRunSuffix(dryRun: string): string {
  return dryRun === "server" ? " (server dry run)" : dryRun === "client" ? " (dry run)" : "";
}

export const containerFlag: FlagSpec = {
  name: "container",
  short: "c",
  kind: "string",
  placeholder: "NAME",
  help: "the container (default: the pod's first)",
};

/** A `--timeout` value: `90s`, `5m`, `1h` or a bare number of seconds, in ms; absent or 0 means none. */
export function parseTimeout(text: string | undefined): number {
  if (text === undefined) return 0;
  const m = /^(\d+)(ms|s|m|h)?$/.exec(text);
  if (!m) throw new CliError(`--timeout: "${text}" is not a duration like 90s, 5m or 1h`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"];
  return Number(m[1]) * unit;
}
