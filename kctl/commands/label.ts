/**
 * `kctl label` and `kctl annotate`: set (`key=value`) or remove (`key-`) labels or annotations of
 * objects named on the command line or chosen with `-l`/`--all`, like kubectl. A key that already
 * has another value is refused unless `--overwrite`. Every object is read and checked before any is
 * written, so a refusal changes nothing; the write is a JSON merge patch of just those keys.
 */

import { isApiError } from "../../foundation/api/errors.js";
import { qualifiedKind } from "../../foundation/api/resources.js";
import { mergePatchType, resourcePath } from "../client.js";
import type { Command } from "../command.js";
import { namespaceFlag, selectorFlag } from "../common-flags.js";
import { CliError, errorLines, UsageError } from "../errors.js";
import { namespaceFlagValue, noneFound, parseSelection, selectedObjects } from "../targets.js";

interface Change {
  key: string;
  /** Undefined removes the key. */
  value: string | undefined;
}

interface MetadataField {
  /** The command word and the field: "label" / "labels". */
  verb: string;
  field: "labels" | "annotations";
  /** "labeled" / "annotated", and "unlabeled" / "unannotated" when only removing. */
  done: string;
  undone: string;
}

function metadataCommand(f: MetadataField): Command {
  return {
    usage: [
      `kctl ${f.verb} KIND NAME... | KIND/NAME... | KIND -l SELECTOR | KIND --all  KEY=VALUE... KEY-...`,
      "         [-n NS] [--overwrite]",
    ].join("\n"),
    flags: [
      namespaceFlag,
      selectorFlag,
      { name: "all", kind: "boolean", help: `${f.verb} every object of the kind in the namespace` },
      { name: "overwrite", kind: "boolean", help: "replace values that are already set" },
    ],
    async run(ctx) {
      // kubectl's rule: no object name ends in "-", so KEY- (prefixed keys too) is always a removal.
      const isChange = (arg: string) => arg.includes("=") || (arg.endsWith("-") && arg !== "-");
      const changes = ctx.positionals.filter(isChange).map((arg) => parseChange(arg, f.verb));
      if (changes.length === 0) {
        throw new UsageError(`${f.verb}: give at least one KEY=VALUE to set or KEY- to remove`);
      }
      const keys = new Set<string>();
      for (const { key } of changes) {
        if (keys.has(key)) throw new UsageError(`${f.verb}: ${key} is given more than once`);
        keys.add(key);
      }
      const selection = parseSelection(
        ctx.positionals.filter((a) => !isChange(a)),
        ctx.flags,
        f.verb,
      );
      const overwrite = ctx.flags.bool("overwrite");
      const { client, access } = await ctx.connect();
      const namespace = namespaceFlagValue(ctx.flags, access.namespace);
      const refs = await selectedObjects(client, selection, namespace);
      if (refs.length === 0) {
        ctx.io.stderr.write(`${noneFound(selection, namespace)}\n`);
        return 0;
      }
      // Read and check them all first: a refusal leaves every object as it was.
      const plans = [];
      for (const ref of refs) {
        const path = resourcePath(ref.info, ref.namespace, ref.name);
        let obj: { metadata?: Record<string, Record<string, string> | undefined> };
        try {
          obj = await client.request("GET", path);
        } catch (err) {
          // An object found by listing may be gone by now; that is not an error.
          if (!selection.named && isApiError(err, "NotFound")) continue;
          throw err;
        }
        const label = `${qualifiedKind(ref.info)}/${ref.name}`;
        const patch = keysPatch(obj.metadata?.[f.field] ?? {}, changes, overwrite, label);
        plans.push({ path, label, patch });
      }
      let failed = false;
      for (const { path, label, patch } of plans) {
        const entries = Object.values(patch);
        if (entries.length === 0) {
          ctx.io.stdout.write(`${label} not ${f.done}\n`);
          continue;
        }
        try {
          await client.request("PATCH", path, {
            body: { metadata: { [f.field]: patch } },
            contentType: mergePatchType,
          });
          const onlyRemoved = entries.every((v) => v === null);
          ctx.io.stdout.write(`${label} ${onlyRemoved ? f.undone : f.done}\n`);
        } catch (err) {
          // Gone or invalid meanwhile: say so and go on with the others, as kubectl does.
          if (!isApiError(err)) throw err;
          failed = true;
          for (const line of errorLines(err)) ctx.io.stderr.write(`${line}\n`);
        }
      }
      return failed ? 1 : 0;
    },
  };
}

/**
 * The merge patch of `changes` against the `current` keys (null removes one); empty when nothing
 * changes. Throws naming the object when a key has another value and `overwrite` is off.
 */
function keysPatch(
  current: Record<string, string>,
  changes: readonly Change[],
  overwrite: boolean,
  label: string,
): Record<string, string | null> {
  const patch: Record<string, string | null> = {};
  for (const { key, value } of changes) {
    const has = Object.hasOwn(current, key);
    if (value === undefined) {
      if (has) patch[key] = null;
      continue;
    }
    if (has && current[key] === value) continue;
    if (has && !overwrite) {
      throw new CliError(
        `${label}: '${key}' already has a value (${current[key]}), and --overwrite is false`,
      );
    }
    patch[key] = value;
  }
  return patch;
}

function parseChange(arg: string, verb: string): Change {
  const eq = arg.indexOf("=");
  const key = eq < 0 ? arg.slice(0, -1) : arg.slice(0, eq);
  if (!key) throw new UsageError(`${verb}: "${arg}" is not KEY=VALUE or KEY-`);
  return { key, value: eq < 0 ? undefined : arg.slice(eq + 1) };
}

export const labelCommand = metadataCommand({
  verb: "label",
  field: "labels",
  done: "labeled",
  undone: "unlabeled",
});

export const annotateCommand = metadataCommand({
  verb: "annotate",
  field: "annotations",
  done: "annotated",
  undone: "unannotated",
});
