/**
 * `kctl delete -f FILE|DIR | KIND NAME... | KIND/NAME... | KIND -l SELECTOR`: deletes objects, prints
 * `deployment.apps "web" deleted` for each; `--cascade` is sent as the propagation policy. Files are
 * deleted in reverse order, so what was applied first (namespaces) goes last.
 */

import { isApiError } from "../../foundation/api/errors.js";
import { qualifiedKind } from "../../foundation/api/resources.js";
import type { ApiClient, DeleteOptions } from "../client.js";
import type { Command, CommandContext } from "../command.js";
import { dryRunFlag, dryRunSuffix, filenameFlag, namespaceFlag, selectorFlag } from "../common-flags.js";
import { errorLines, UsageError } from "../errors.js";
import { loadManifests } from "../manifests.js";
import {
  namespaceFlagValue,
  noneFound,
  type ObjectRef,
  parseSelection,
  selectedObjects,
} from "../targets.js";

const policies = { background: "Background", foreground: "Foreground", orphan: "Orphan" } as const;

export const deleteCommand: Command = {
  usage: [
    "kctl delete -f FILE|DIR|- [-f ...]",
    "       kctl delete KIND NAME... | KIND/NAME... | KIND -l SELECTOR | KIND --all",
    "         [-n NS] [--cascade=background|foreground|orphan] [--grace-period=N] [--ignore-not-found]",
  ].join("\n"),
  flags: [
    filenameFlag,
    namespaceFlag,
    selectorFlag,
    { name: "all", kind: "boolean", help: "delete every object of the kind in the namespace" },
    {
      name: "cascade",
      kind: "string",
      choices: ["background", "foreground", "orphan"],
      bareValue: "background",
      placeholder: "MODE",
      help: "what happens to dependents: background (default), foreground or orphan",
    },
    {
      name: "grace-period",
      kind: "int",
      placeholder: "SECONDS",
      help: "seconds a pod gets to stop; 0 for now",
    },
    { name: "ignore-not-found", kind: "boolean", help: "treat objects that do not exist as deleted" },
    dryRunFlag,
  ],
  async run(ctx) {
    const files = ctx.flags.strings("filename");
    if (files.length > 0 && (ctx.flags.has("selector") || ctx.flags.bool("all"))) {
      throw new UsageError("-f names the objects itself; -l and --all cannot be combined with it");
    }
    if (files.length > 0 && ctx.positionals.length > 0) {
      throw new UsageError("give either -f or KIND NAME, not both");
    }
    const grace = ctx.flags.int("grace-period");
    if (grace !== undefined && grace < 0) throw new UsageError("--grace-period must be 0 or more");
    const dryRun = ctx.flags.string("dry-run") ?? "none";
    const opts: DeleteOptions = {
      propagationPolicy: policies[(ctx.flags.string("cascade") ?? "background") as keyof typeof policies],
    };
    if (grace !== undefined) opts.gracePeriodSeconds = grace;
    if (dryRun === "server") opts.dryRun = true;

    const victims: ObjectRef[] = [];
    let ignoreNotFound = ctx.flags.bool("ignore-not-found");
    if (files.length > 0) {
      const manifests = await loadManifests(files, ctx.io);
      const { client, access } = await ctx.connect();
      const explicit = ctx.flags.string("namespace");
      for (const m of [...manifests].reverse()) {
        victims.push({
          info: m.info,
          namespace: m.info.namespaced
            ? m.object.metadata.namespace || explicit || access.namespace
            : undefined,
          name: m.object.metadata.name,
        });
      }
      return deleteAll(ctx, client, victims, opts, ignoreNotFound, dryRun);
    }
    const selection = parseSelection(ctx.positionals, ctx.flags, "delete");
    const { client, access } = await ctx.connect();
    const namespace = namespaceFlagValue(ctx.flags, access.namespace);
    victims.push(...(await selectedObjects(client, selection, namespace)));
    if (victims.length === 0) {
      ctx.io.stderr.write(`${noneFound(selection, namespace)}\n`);
      return 0;
    }
    // Objects found by listing may vanish before their turn; that is not an error.
    if (!selection.named) ignoreNotFound = true;
    return deleteAll(ctx, client, victims, opts, ignoreNotFound, dryRun);
  },
};

async function deleteAll(
  ctx: CommandContext,
  client: ApiClient,
  victims: readonly ObjectRef[],
  opts: DeleteOptions,
  ignoreNotFound: boolean,
  dryRun: string,
): Promise<number> {
  let failed = false;
  const suffix = dryRunSuffix(dryRun);
  for (const v of victims) {
    try {
      if (dryRun === "client") await client.get(v.info, v.namespace, v.name);
      else await client.delete(v.info, v.namespace, v.name, opts);
      ctx.io.stdout.write(`${qualifiedKind(v.info)} "${v.name}" deleted${suffix}\n`);
    } catch (err) {
      if (isApiError(err, "NotFound") && ignoreNotFound) continue;
      if (!isApiError(err)) throw err;
      failed = true;
      for (const line of errorLines(err)) ctx.io.stderr.write(`${line}\n`);
    }
  }
  return failed ? 1 : 0;
}
