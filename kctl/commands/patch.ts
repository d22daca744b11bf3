/**
 * `kctl patch KIND NAME -p PATCH`: changes fields of one object in place, like `kubectl patch`. The
 * patch is JSON or YAML, from `-p` or `--patch-file`; a strategic merge patch by default (lists of
 * containers, ports, volumes... merge by name, as kubectl's do) or a JSON merge patch with
 * `--type merge`. `--subresource status|scale` patches that subresource instead.
 */

import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { qualifiedKind } from "../../foundation/api/resources.js";
import { mergePatchType, resourcePath } from "../client.js";
import type { Command } from "../command.js";
import { namespaceFlag } from "../common-flags.js";
import { CliError, UsageError } from "../errors.js";
import { namespaceFlagValue, parseTargets } from "../targets.js";

const contentTypes = {
  strategic: "application/strategic-merge-patch+json",
  merge: mergePatchType,
} as const;

export const patchCommand: Command = {
  usage:
    "kctl patch KIND NAME|KIND/NAME -p PATCH|--patch-file FILE [--type strategic|merge] [--subresource status|scale] [-n NS]",
  flags: [
    namespaceFlag,
    { name: "patch", short: "p", kind: "string", placeholder: "PATCH", help: "the patch, JSON or YAML" },
    { name: "patch-file", kind: "string", placeholder: "FILE", help: "read the patch from FILE" },
    {
      name: "type",
      kind: "string",
      placeholder: "TYPE",
      choices: ["strategic", "merge"],
      help: "strategic (default) or merge (RFC 7386)",
    },
    {
      name: "subresource",
      kind: "string",
      placeholder: "NAME",
      choices: ["status", "scale"],
      help: "patch this subresource instead of the object",
    },
  ],
  async run(ctx) {
    const targets = parseTargets(ctx.positionals, "patch");
    const target = targets[0]!;
    if (targets.length > 1 || target.names.length !== 1) {
      throw new UsageError("patch: name exactly one object, e.g. kctl patch deployment web -p '{...}'");
    }
    const patch = await readPatch(ctx.flags.string("patch"), ctx.flags.string("patch-file"), ctx.io.cwd);
    const type = (ctx.flags.string("type") ?? "strategic") as keyof typeof contentTypes;
    const subresource = ctx.flags.string("subresource");
    const { client, access } = await ctx.connect();
    const name = target.names[0]!;
    const path = resourcePath(
      target.info,
      namespaceFlagValue(ctx.flags, access.namespace),
      name,
      subresource,
    );
    const label = `${qualifiedKind(target.info)}/${name}`;
    const before = await client.request<{ metadata?: { resourceVersion?: string } }>("GET", path);
    const after = await client.request<{ metadata?: { resourceVersion?: string } }>("PATCH", path, {
      body: patch,
      contentType: contentTypes[type],
    });
    const unchanged = before.metadata?.resourceVersion === after.metadata?.resourceVersion;
    ctx.io.stdout.write(`${label} patched${unchanged ? " (no change)" : ""}\n`);
    return 0;
  },
};

async function readPatch(inline: string | undefined, file: string | undefined, cwd: string): Promise<object> {
  if ((inline === undefined) === (file === undefined)) {
    throw new UsageError("patch: give the patch with -p PATCH or --patch-file FILE (one of them)");
  }
  const where = file === undefined ? "-p" : `--patch-file ${file}`;
  let text = inline;
  if (file !== undefined) {
    try {
      text = await readFile(resolve(cwd, file), "utf8");
    } catch (err) {
      throw new CliError(
        `${where}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : String(err)}`,
      );
    }
  }
  let value: unknown;
  try {
    value = parseYaml(text!);
  } catch (err) {
    throw new CliError(
      `${where}: not valid JSON or YAML: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CliError(`${where}: the patch must be an object, such as '{"spec":{"replicas":3}}'`);
  }
  return value;
}
