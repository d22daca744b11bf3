/** Flags several commands share, spelled like kubectl's. */

import type { FlagSpec } from "./args.js";

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

export const containerFlag: FlagSpec = {
  name: "container",
  short: "c",
  kind: "string",
  placeholder: "NAME",
  help: "the container (default: the pod's first)",
};
