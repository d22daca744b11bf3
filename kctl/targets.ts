/**
 * Resolving what `get`, `describe` and `delete` act on from their arguments, like kubectl:
 * `KIND[,KIND] [NAME...]` or `KIND/NAME...`, with plural, singular, short and group-qualified kind
 * names (`po`, `deploy`, `deployments.apps`); plus the namespace and label selector flags.
 */

import { isApiError } from "../foundation/api/errors.js";
import { parseSelector } from "../foundation/api/labels.js";
import { type ResourceInfo, resolveResourceName } from "../foundation/api/resources.js";
import type { Flags } from "./args.js";
import type { ApiClient } from "./client.js";
import { CliError, UsageError } from "./errors.js";

export interface Target {
  info: ResourceInfo;
  /** Empty: every object of the kind (in scope, matching the selector). */
  names: string[];
}

function kind(word: string): ResourceInfo {
  const info = resolveResourceName(word);
  if (!info)
    throw new CliError(`the server doesn't have a resource type "${word}"; "kctl api-resources" lists them`);
  return info;
}

/** Parses the positional arguments of a command that takes resources. */
export function parseTargets(positionals: readonly string[], verb: string): Target[] {
  if (positionals.length === 0) {
    throw new UsageError(
      `you must specify the type of resource to ${verb}; "kctl api-resources" lists the supported types`,
    );
  }
  if (positionals[0]!.includes("/")) {
    const targets: Target[] = [];
    for (const arg of positionals) {
      const slash = arg.indexOf("/");
      if (slash < 0) {
        throw new UsageError(
          `"${arg}": when one argument is KIND/NAME, all must be (mixing forms is ambiguous)`,
        );
      }
      const name = arg.slice(slash + 1);
      if (name === "" || name.includes("/")) throw new UsageError(`"${arg}": expected KIND/NAME`);
      const info = kind(arg.slice(0, slash));
      const existing = targets.find((t) => t.info === info);
      if (existing) existing.names.push(name);
      else targets.push({ info, names: [name] });
    }
    return targets;
  }
  const infos = positionals[0]!.split(",").filter(Boolean).map(kind);
  const names = positionals.slice(1);
  for (const name of names) {
    if (name.includes("/")) {
      throw new UsageError(
        `"${name}": there is no need to give the type separately when passing arguments in KIND/NAME form`,
      );
    }
  }
  if (names.length > 0 && infos.length > 1) {
    throw new UsageError(`names can be given with only one resource type, got ${positionals[0]}`);
  }
  return infos.map((info) => ({ info, names: [...names] }));
}

/** One object a command acts on. */
export interface ObjectRef {
  info: ResourceInfo;
  /** Undefined for cluster-scoped kinds. */
  namespace: string | undefined;
  name: string;
}

/** How a command's objects were chosen: by name, or by `-l SELECTOR` / `--all` among those listed. */
export interface Selection {
  targets: Target[];
  named: boolean;
  labelSelector: string | undefined;
}

/**
 * Parses `KIND NAME...`, `KIND/NAME...` or `KIND -l SELECTOR|--all` (`--all` read when the command
 * has the flag), refusing a command line that says neither or both.
 */
export function parseSelection(positionals: readonly string[], flags: Flags, verb: string): Selection {
  const targets = parseTargets(positionals, verb);
  const labelSelector = selectorFlagValue(flags);
  const named = targets.some((t) => t.names.length > 0);
  const everything = flags.bool("all");
  if (!named && labelSelector === undefined && !everything) {
    throw new UsageError(`give names, -l SELECTOR or --all to say which objects to ${verb}`);
  }
  if (named && (labelSelector !== undefined || everything)) {
    throw new UsageError("names cannot be combined with -l or --all");
  }
  return { targets, named, labelSelector };
}

/** The objects a selection names, or those the server lists for it in `namespace`. */
export async function selectedObjects(
  client: ApiClient,
  selection: Selection,
  namespace: string,
): Promise<ObjectRef[]> {
  const refs: ObjectRef[] = [];
  for (const { info, names } of selection.targets) {
    const ns = info.namespaced ? namespace : undefined;
    if (selection.named) {
      for (const name of names) refs.push({ info, namespace: ns, name });
      continue;
    }
    const { labelSelector } = selection;
    const list = await client.list(info, ns, labelSelector ? { labelSelector } : {});
    for (const obj of list.items) refs.push({ info, namespace: ns, name: obj.metadata.name ?? "" });
  }
  return refs;
}

/** "No resources found in NS namespace", as kubectl says when a selection matches nothing. */
export function noneFound(selection: Selection, namespace: string): string {
  return `No resources found${selection.targets.some((t) => t.info.namespaced) ? ` in ${namespace} namespace` : ""}`;
}

/** The `-l` selector, checked here so a typo fails before any request. */
export function selectorFlagValue(flags: Flags): string | undefined {
  const text = flags.string("selector");
  if (text === undefined) return undefined;
  try {
    parseSelector(text);
  } catch (err) {
    if (isApiError(err)) throw new CliError(`-l/--selector: ${err.message}`);
    throw err;
  }
  return text;
}

/** The namespace for namespaced requests: `-n`, else the config's context namespace. */
export function namespaceFlagValue(flags: Flags, contextNamespace: string): string {
  const ns = flags.string("namespace");
  if (ns === "") throw new UsageError("-n/--namespace must not be empty");
  return ns ?? contextNamespace;
}

/** A pod named on the command line as `NAME`, `pod/NAME` or `po/NAME`. */
export function podNameArg(arg: string): string {
  return arg.replace(/^(pods?|po)\//, "");
}
