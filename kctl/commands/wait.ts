/**
 * `kctl wait KIND NAME... --for=condition=Ready|--for=delete [--timeout 30s]`: blocks until each
 * object has the condition (status "True" unless `condition=NAME=VALUE` says otherwise) or is gone,
 * like kubectl wait, for scripts. Objects are named, or chosen with `-l`/`--all`; one timeout covers
 * them all (30 s by default, 0 looks once). Exits 1 naming the first object still waited for.
 */

import { isApiError } from "../../controlplane/api/errors.js";
import { qualifiedKind } from "../../controlplane/api/resources.js";
import { resourcePath } from "../client.js";
import type { Command } from "../command.js";
import { namespaceFlag, parseTimeout, selectorFlag } from "../common-flags.js";
import { CliError, UsageError } from "../errors.js";
import { namespaceFlagValue, parseSelection, selectedObjects } from "../targets.js";

type Goal = { kind: "delete" } | { kind: "condition"; type: string; status: string };

/** How often an object is read again while waiting. */
const pollMs = 250;

export const waitCommand: Command = {
  name: "wait",
  summary: "Wait until objects have a condition or are deleted",
  usage:
    "kctl wait KIND NAME... | KIND/NAME... | KIND -l SELECTOR | KIND --all\n" +
    "         --for=condition=NAME[=VALUE]|--for=delete [--timeout 30s] [-n NS]",
  flags: [
    namespaceFlag,
    selectorFlag,
    { name: "all", kind: "boolean", help: "wait for every object of the kind in the namespace" },
    {
      name: "for",
      kind: "string",
      placeholder: "GOAL",
      help: "condition=NAME[=VALUE] (VALUE defaults to True) or delete",
    },
    {
      name: "timeout",
      kind: "string",
      placeholder: "DURATION",
      help: "give up after this long for all of them, e.g. 90s, 5m (default 30s; 0 looks once)",
    },
  ],
  async run(ctx) {
    const goal = parseGoal(ctx.flags.string("for"));
    const timeoutMs = parseTimeout(ctx.flags.string("timeout") ?? "30s");
    const selection = parseSelection(ctx.positionals, ctx.flags, "wait for");
    const { client, access } = await ctx.connect();
    const refs = await selectedObjects(client, selection, namespaceFlagValue(ctx.flags, access.namespace));
    if (refs.length === 0) throw new CliError("no matching resources found");
    const { clock } = ctx.io;
    const deadline = clock.now() + timeoutMs;
    for (const ref of refs) {
      const path = resourcePath(ref.info, ref.namespace, ref.name);
      for (;;) {
        if (await reached(goal, () => client.request<Conditioned>("GET", path))) break;
        if (clock.now() >= deadline) {
          throw new CliError(`timed out waiting for the condition on ${ref.info.plural}/${ref.name}`);
        }
        await clock.sleep(Math.min(pollMs, Math.max(0, deadline - clock.now())));
        if (ctx.io.signal.aborted) return 130;
      }
      ctx.io.stdout.write(`${qualifiedKind(ref.info)}/${ref.name} condition met\n`);
    }
    return 0;
  },
};

interface Conditioned {
  status?: { conditions?: { type?: string; status?: string }[] };
}

function parseGoal(text: string | undefined): Goal {
  if (text === undefined) throw new UsageError("wait: --for is required (condition=NAME[=VALUE] or delete)");
  if (text === "delete") return { kind: "delete" };
  const m = /^condition=([^=]+)(?:=(.+))?$/.exec(text);
  if (!m) throw new UsageError(`--for: expected condition=NAME[=VALUE] or delete, got "${text}"`);
  return { kind: "condition", type: m[1]!, status: m[2] ?? "True" };
}

/** Whether the object read by `get` has reached the goal; NotFound is reaching `delete`, else an error. */
async function reached(goal: Goal, get: () => Promise<Conditioned>): Promise<boolean> {
  let obj: Conditioned;
  try {
    obj = await get();
  } catch (err) {
    if (goal.kind === "delete" && isApiError(err, "NotFound")) return true;
    throw err;
  }
  if (goal.kind === "delete") return false;
  // Condition types and values compare without regard to case, as kubectl's do.
  const same = (a: string | undefined, b: string) => a?.toLowerCase() === b.toLowerCase();
  return (obj.status?.conditions ?? []).some((c) => same(c.type, goal.type) && same(c.status, goal.status));
}
