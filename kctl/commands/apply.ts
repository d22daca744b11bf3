/** `kctl apply -f FILE|DIR|-`: create or update objects from manifests (see applier.ts). */

import { appliedVerb, executeApply, objectRef, planApply, resolveManifests } from "../applier.js";
import { lastAppliedAnnotation } from "../apply-patch.js";
import type { Command } from "../command.js";
import { dryRunFlag, dryRunSuffix, filenameFlag, namespaceFlag } from "../common-flags.js";
import { UsageError } from "../errors.js";
import { loadManifests, location } from "../manifests.js";

export const applyCommand: Command = {
  usage: [
    "kctl apply -f FILE|DIR|- [-f ...] [-n NS] [--dry-run=server|client]",
    "",
    "Every document is checked with a server-side dry run before the first write; if any is refused,",
    "nothing is written. Prints one line per object: created, configured or unchanged.",
  ].join("\n"),
  flags: [filenameFlag, namespaceFlag, dryRunFlag],
  async run(ctx) {
    const files = ctx.flags.strings("filename");
    if (files.length === 0) throw new UsageError("apply needs at least one -f FILE|DIR|-");
    if (ctx.positionals.length > 0) {
      throw new UsageError(`unexpected argument "${ctx.positionals[0]}": apply reads objects from -f`);
    }
    const explicitNamespace = ctx.flags.string("namespace");
    if (explicitNamespace === "") throw new UsageError("-n/--namespace must not be empty");
    const dryRun = (ctx.flags.string("dry-run") ?? "none") as "none" | "server" | "client";
    const manifests = await loadManifests(files, ctx.io);
    const { client, access } = await ctx.connect();
    const planned = resolveManifests(manifests, { explicitNamespace, defaultNamespace: access.namespace });
    for (const p of planned.filter((x) => !x.recorded)) {
      ctx.io.stderr.write(
        `warning: ${location(p.manifest)}: ${objectRef(p)} is too large to also keep its ${lastAppliedAnnotation} annotation; fields removed from this manifest later will stay on the object\n`,
      );
    }
    await planApply(client, planned, dryRun);
    const suffix = dryRunSuffix(dryRun);
    if (dryRun !== "none") {
      for (const p of planned) ctx.io.stdout.write(`${objectRef(p)} ${appliedVerb[p.action]}${suffix}\n`);
      return 0;
    }
    const ok = await executeApply(
      client,
      planned,
      (p, verb) => ctx.io.stdout.write(`${objectRef(p)} ${verb}\n`),
      (lines) => {
        for (const line of lines) ctx.io.stderr.write(`error: ${line}\n`);
      },
    );
    return ok ? 0 : 1;
  },
};
