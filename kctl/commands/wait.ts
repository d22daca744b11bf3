/**
 * `kctl wait KIND NAME... --for=condition=Ready|--for=delete [--timeout 30s]`: blocks until each
 * object has the condition (status "True" unless `condition=NAME=VALUE` says otherwise) or is gone,
 * like kubectl wait, for scripts. Objects are named, or chosen with `-l`/`--all`; one timeout covers
 * them all (30 s by default, 0 looks once). Exits 1 naming the first object still waited for.
 */

import { isApiError } from "../../foundation/api/errors.js";
import { qualifiedKind } from "../../foundation/api/resources.js";
import { resourcePath } from "../client.js";
import type { Command } from "../command.js";
import { namespaceFlag, parseTimeout, selectorFlag } from "../common-flags.js";
import { CliError, UsageError } from "../errors.js";
import { namespaceFlagValue, parseSelection, selectedObjects } from "../targets.js";

type Goal = { kind: "delete" } | { kind: "condition"; type: string; status: string };

/** How often an object is read again while waiting. */
const pollMs = 250;

export const waitCommand: Command = {
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
    // Nothing left to wait for is what --for=delete wants, as with kubectl.
    if (refs.length === 0 && goal.kind !== "delete") throw new CliError("no matching resources found");
    const { clock } = ctx.io;
    const deadline = clock.now() + timeoutMs;
    for (const ref of refs) {
      const path = resourcePath(ref.info, ref.namespace, ref.name);
      const seen: { uid?: string } = {};
      for (;;) {
        if (await reached(goal, () => client.request<Conditioned>("GET", path), seen)) break;
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
  metadata?: { uid?: string; generation?: number };
  status?: {
    observedGeneration?: number;
    conditions?: { type?: string; status?: string; observedGeneration?: number }[];
  };
}

function parseGoal(text: string | undefined): Goal {
  if (text === undefined) throw new UsageError("wait: --for is required (condition=NAME[=VALUE] or delete)");
  if (text === "delete") return { kind: "delete" };
  const m = /^condition=([^=]+)(?:=(.+))?$/.exec(text);
  if (!m) throw new UsageError(`--for: expected condition=NAME[=VALUE] or delete, got "${text}"`);
  return { kind: "condition", type: m[1]!, status: m[2] ?? "True" };
}

/**
 * Whether the object read by `get` has reached the goal. For `delete`, NotFound or another object
 * of the same name (a new uid since `seen`) is reaching it; otherwise NotFound is an error. A
 * condition reported for an older generation than the object's (a spec changed since) does not count.
 */
async function reached(
  goal: Goal,
  get: () => Promise<Conditioned>,
  seen: { uid?: string | undefined },
): Promise<boolean> {
  let obj: Conditioned;
  try {
    obj = await get();
  } catch (err) {
    if (goal.kind === "delete" && isApiError(err, "NotFound")) return true;
    throw err;
  }
  if (goal.kind === "delete") {
    const uid = obj.metadata?.uid;
    seen.uid ??= uid;
    return uid !== seen.uid;
  }
  // Condition types and values compare without regard to case, as kubectl's do.
  const same = (a: string | undefined, b: string) => a?.toLowerCase() === b.toLowerCase();
  const condition = (obj.status?.conditions ?? []).find((c) => same(c.type, goal.type));
  if (!condition || !same(condition.status, goal.status)) return false;
  const generation = obj.metadata?.generation;
  const observed = condition.observedGeneration ?? obj.status?.observedGeneration;
  return generation === undefined || observed === undefined || observed >= generation;
}
