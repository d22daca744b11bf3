/**
 * `kctl get KIND[,KIND] [NAME...] | KIND/NAME...`: tables like kubectl's (or -o wide|yaml|json|name),
 * in one namespace or all (-A), filtered by label selector (-l); with -w it keeps printing a line
 * per change, watching from the list's resourceVersion, until interrupted.
 */

import { isApiError } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import type { ResourceInfo } from "../../foundation/api/resources.js";
import { eventTime } from "../../foundation/printers/cells.js";
import { headerRow, objectRow, type TableOptions } from "../../foundation/printers/columns.js";
import { TableWriter } from "../../foundation/printers/text-table.js";
import type { ApiClient } from "../client.js";
import type { CliIO, Command } from "../command.js";
import { allNamespacesFlag, namespaceFlag, selectorFlag } from "../common-flags.js";
import { errorLines, UsageError } from "../errors.js";
import {
  type Found,
  formatObjects,
  formatValue,
  nameOf,
  parseOutputFlag,
} from "../printers/object-output.js";
import { namespaceFlagValue, parseTargets, selectorFlagValue, type Target } from "../targets.js";

interface Gathered {
  found: Found[];
  /** The list's resourceVersion per kind, to watch from. */
  listVersion: Map<ResourceInfo, string | undefined>;
  failed: boolean;
}

async function gather(
  client: ApiClient,
  io: CliIO,
  targets: readonly Target[],
  namespace: string | undefined,
  labelSelector: string | undefined,
): Promise<Gathered> {
  const out: Gathered = { found: [], listVersion: new Map(), failed: false };
  for (const { info, names } of targets) {
    const ns = info.namespaced ? namespace : undefined;
    if (names.length === 0) {
      const list = await client.list(info, ns, labelSelector ? { labelSelector } : {});
      out.listVersion.set(info, list.metadata?.resourceVersion);
      const items = info.kind === "Event" ? sortEvents(list.items) : list.items;
      out.found.push(...items.map((obj) => ({ info, obj })));
      continue;
    }
    for (const name of names) {
      try {
        out.found.push({ info, obj: await client.get(info, ns, name) });
      } catch (err) {
        if (!isApiError(err, "NotFound")) throw err;
        out.failed = true;
        for (const line of errorLines(err)) io.stderr.write(`${line}\n`);
      }
    }
  }
  return out;
}

function sortEvents(items: KubeObject[]): KubeObject[] {
  const time = (o: KubeObject) => Date.parse(eventTime(o as never) ?? "") || 0;
  return [...items].sort((a, b) => time(a) - time(b));
}

/** Prints a table per kind (a blank line between them); returns the writer of the last one. */
function printTables(
  io: CliIO,
  found: readonly Found[],
  targets: readonly Target[],
  opts: TableOptions,
): TableWriter {
  let writer = new TableWriter((text) => io.stdout.write(text));
  let first = true;
  for (const { info } of targets) {
    const rows = found.filter((f) => f.info === info).map((f) => objectRow(info, f.obj, opts));
    if (rows.length === 0) continue;
    if (!first) {
      io.stdout.write("\n");
      writer = new TableWriter((text) => io.stdout.write(text));
    }
    first = false;
    writer.print([headerRow(info, opts), ...rows]);
  }
  return writer;
}

export const getCommand: Command = {
  usage: [
    "kctl get KIND[,KIND] [NAME...] [-n NS | -A] [-o wide|yaml|json|name] [-l SELECTOR] [-w]",
    "       kctl get KIND/NAME...",
    "",
    "Kinds may be plural, singular or short: pods, pod, po; deployments, deploy; services, svc; cm; ns.",
  ].join("\n"),
  flags: [
    namespaceFlag,
    allNamespacesFlag,
    {
      name: "output",
      short: "o",
      kind: "string",
      placeholder: "FORMAT",
      help: "wide, yaml, json, name or jsonpath=TEMPLATE (default: a table)",
    },
    selectorFlag,
    {
      name: "watch",
      short: "w",
      kind: "boolean",
      help: "after the list, print a line per change until interrupted",
    },
  ],
  async run(ctx) {
    const targets = parseTargets(ctx.positionals, "get");
    const all = ctx.flags.bool("all-namespaces");
    const named = targets.some((t) => t.names.length > 0);
    const watch = ctx.flags.bool("watch");
    if (all && ctx.flags.has("namespace")) throw new UsageError("-A and -n cannot be used together");
    if (named && ctx.flags.has("selector"))
      throw new UsageError("a label selector (-l) cannot be combined with names");
    if (watch && targets.length > 1) throw new UsageError("-w watches one resource type at a time");
    const labelSelector = selectorFlagValue(ctx.flags);
    const output = ctx.flags.string("output");
    const objectFormat = parseOutputFlag(output);
    const { client, access } = await ctx.connect();
    const namespace = all ? undefined : namespaceFlagValue(ctx.flags, access.namespace);

    // A watch over named objects lists the kind and filters, so it has a version to watch from.
    const listTargets = watch && named ? targets.map((t) => ({ ...t, names: [] })) : targets;
    const gathered = await gather(client, ctx.io, listTargets, namespace, labelSelector);
    const wanted = (obj: KubeObject) =>
      !watch || !named || targets[0]!.names.includes(obj.metadata.name ?? "");
    const found = gathered.found.filter((f) => wanted(f.obj));
    const now = ctx.io.clock.now();
    const tableOpts: TableOptions = {
      now,
      wide: output === "wide",
      withNamespace: all,
      withKind: targets.length > 1,
    };

    let writer: TableWriter | undefined;
    if (objectFormat) {
      // An empty List is still printed for yaml/json, as kubectl does, except ahead of a watch.
      const single = targets.length === 1 && targets[0]!.names.length === 1 && !watch;
      if (found.length > 0 || (!watch && objectFormat !== "name")) {
        ctx.io.stdout.write(formatObjects(found, objectFormat, single));
      }
    } else if (found.length > 0) {
      writer = printTables(ctx.io, found, targets, tableOpts);
    }
    if (
      found.length === 0 &&
      !gathered.failed &&
      (objectFormat === undefined || objectFormat === "name" || watch)
    ) {
      const scoped = !all && targets.some((t) => t.info.namespaced);
      ctx.io.stderr.write(
        scoped ? `No resources found in ${namespace} namespace.\n` : "No resources found\n",
      );
    }
    if (!watch) return gathered.failed ? 1 : 0;

    const info = targets[0]!.info;
    const rowWriter = writer ?? new TableWriter((text) => ctx.io.stdout.write(text));
    let headerPrinted = found.length > 0;
    let version = gathered.listVersion.get(info);
    const printEvent = (obj: KubeObject) => {
      if (objectFormat === "yaml") ctx.io.stdout.write(`---\n${formatValue(obj, "yaml")}`);
      else if (objectFormat === "json") ctx.io.stdout.write(formatValue(obj, "json"));
      else if (typeof objectFormat === "object")
        ctx.io.stdout.write(formatObjects([{ info, obj }], objectFormat, true));
      else if (objectFormat === "name") ctx.io.stdout.write(`${nameOf({ info, obj })}\n`);
      else {
        const opts = { ...tableOpts, now: ctx.io.clock.now() };
        const row = objectRow(info, obj, opts);
        rowWriter.print(headerPrinted ? [row] : [headerRow(info, opts), row]);
        headerPrinted = true;
      }
    };
    // The server may end a watch (timeouts); resume from the last version seen until interrupted.
    while (!ctx.io.signal.aborted) {
      try {
        for await (const event of client.watch(info, info.namespaced ? namespace : undefined, {
          resourceVersion: version,
          labelSelector,
        })) {
          version = event.object.metadata?.resourceVersion ?? version;
          if (event.type !== "BOOKMARK" && wanted(event.object)) printEvent(event.object);
        }
      } catch (err) {
        if (ctx.io.signal.aborted) break;
        if (!isApiError(err, "Gone")) throw err;
        // The version to resume from was compacted away: list again, print the current state so
        // nothing missed stays unseen, and watch on from there.
        const list = await client.list(
          info,
          info.namespaced ? namespace : undefined,
          labelSelector ? { labelSelector } : {},
        );
        for (const obj of list.items) if (wanted(obj)) printEvent(obj);
        version = list.metadata?.resourceVersion;
        continue;
      }
      if (!ctx.io.signal.aborted) await ctx.io.clock.sleep(1000);
    }
    return gathered.failed ? 1 : 0;
  },
};
