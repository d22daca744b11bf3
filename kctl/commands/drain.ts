/**
 * `kctl cordon|uncordon NODE...` and `kctl drain NODE`, like kubectl's: cordon sets the Node's
 * `spec.unschedulable` (the scheduler then places no new pods there), uncordon clears it, and drain
 * cordons and then evicts the node's pods (POST pods/{name}/eviction, so PodDisruptionBudgets
 * hold: a 429 is retried every 5 s until --timeout), waiting until they are gone so their
 * controllers have replaced them elsewhere. Drain refuses, naming them, pods nothing would replace
 * (no controller; `--force` overrides), pods whose emptyDir data would be lost
 * (`--delete-emptydir-data`) and DaemonSet pods (their controller would put them right back;
 * `--ignore-daemonsets` leaves them running); the node then stays cordoned, as with kubectl.
 * `--disable-eviction` deletes instead, bypassing budgets, as kubectl's does.
 */

import { isApiError } from "../../foundation/api/errors.js";
import { resolveResourceName } from "../../foundation/api/resources.js";
import type { Node, Pod } from "../../proto/gen/api.js";
import { type ApiClient, mergePatchType, resourcePath } from "../client.js";
import type { Command, CommandContext } from "../command.js";
import { parseTimeout, selectorFlag } from "../common-flags.js";
import { CliError, UsageError } from "../errors.js";
import { selectorFlagValue } from "../targets.js";

const nodes = resolveResourceName("nodes")!;
const pods = resolveResourceName("pods")!;
/** How often drain looks whether the pods it evicted are gone. */
const POLL_MS = 1000;
/** How long drain waits before asking again for an eviction a budget refused (kubectl's 5 s). */
const EVICTION_RETRY_MS = 5000;

/** The nodes named on the command line, or those matching `-l`. */
async function targetNodes(ctx: CommandContext, client: ApiClient, verb: string): Promise<string[]> {
  const selector = selectorFlagValue(ctx.flags);
  if (selector !== undefined && ctx.positionals.length > 0)
    throw new UsageError(`${verb}: give NODE names or -l, not both`);
  if (selector === undefined) {
    if (ctx.positionals.length === 0)
      throw new UsageError(`${verb}: name at least one NODE (or -l SELECTOR)`);
    return ctx.positionals.map((p) => p.replace(/^(nodes?|no)\//, ""));
  }
  const list = await client.list(nodes, undefined, { labelSelector: selector });
  if (list.items.length === 0) throw new CliError(`-l ${selector}: no nodes match`);
  return list.items.map((n) => n.metadata.name ?? "");
}

/** Sets `spec.unschedulable`; prints what kubectl prints and whether it was already so. */
async function setUnschedulable(ctx: CommandContext, client: ApiClient, name: string, value: boolean) {
  const node = (await client.get(nodes, undefined, name)) as Node;
  const word = value ? "cordoned" : "uncordoned";
  if ((node.spec?.unschedulable ?? false) === value) {
    ctx.io.stdout.write(`node/${name} already ${word}\n`);
    return;
  }
  await client.request("PATCH", resourcePath(nodes, undefined, name), {
    body: { spec: { unschedulable: value } },
    contentType: mergePatchType,
  });
  ctx.io.stdout.write(`node/${name} ${word}\n`);
}

function cordonCommandFor(verb: "cordon" | "uncordon"): Command {
  const value = verb === "cordon";
  return {
    usage: `kctl ${verb} NODE... | -l SELECTOR`,
    flags: [selectorFlag],
    async run(ctx) {
      const { client } = await ctx.connect();
      for (const name of await targetNodes(ctx, client, verb))
        await setUnschedulable(ctx, client, name, value);
      return 0;
    },
  };
}

export const cordonCommand = cordonCommandFor("cordon");
export const uncordonCommand = cordonCommandFor("uncordon");

const podName = (p: Pod) => `${p.metadata?.namespace ?? ""}/${p.metadata?.name ?? ""}`;
const finished = (p: Pod) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed";
const daemonPod = (p: Pod) =>
  p.metadata?.ownerReferences?.some((o) => o.controller && o.kind === "DaemonSet");

interface DrainFlags {
  force: boolean;
  deleteEmptyDir: boolean;
  ignoreDaemonSets: boolean;
}

/** Why drain may not delete each pod without an override flag, kubectl's wording, grouped by reason. */
function refusals(list: readonly Pod[], f: DrainFlags): string[] {
  const unmanaged: string[] = [];
  const localData: string[] = [];
  const daemons: string[] = [];
  for (const p of list) {
    if (finished(p)) continue;
    if (daemonPod(p)) {
      if (!f.ignoreDaemonSets) daemons.push(podName(p));
      continue;
    }
    if (!f.force && !p.metadata?.ownerReferences?.some((o) => o.controller)) unmanaged.push(podName(p));
    if (!f.deleteEmptyDir && p.spec?.volumes?.some((v) => v.emptyDir)) localData.push(podName(p));
  }
  const out: string[] = [];
  if (daemons.length > 0)
    out.push(
      `cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): ${daemons.join(", ")}`,
    );
  if (unmanaged.length > 0)
    out.push(
      `cannot delete Pods that declare no controller (use --force to override): ${unmanaged.join(", ")}`,
    );
  if (localData.length > 0)
    out.push(
      `cannot delete Pods with local storage (use --delete-emptydir-data to override): ${localData.join(", ")}`,
    );
  return out;
}

/** Whether the pod with this uid is gone (a pod of the same name may already have replaced it). */
async function gone(client: ApiClient, p: Pod): Promise<boolean> {
  try {
    const now = (await client.get(pods, p.metadata?.namespace, p.metadata?.name ?? "")) as Pod;
    return now.metadata?.uid !== p.metadata?.uid;
  } catch (err) {
    if (isApiError(err, "NotFound")) return true;
    throw err;
  }
}

/**
 * Evicts `p` (or deletes it with --disable-eviction), asking again every 5 s while its budget
 * refuses (429), until `deadline`. A pod already gone or replaced counts as done.
 */
async function evict(
  ctx: CommandContext,
  client: ApiClient,
  p: Pod,
  node: string,
  deadline: number,
): Promise<void> {
  const grace = ctx.flags.int("grace-period");
  const deleteOptions = {
    ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}),
    preconditions: { uid: p.metadata?.uid ?? "" },
  };
  const { namespace = "", name = "" } = p.metadata ?? {};
  for (;;) {
    try {
      if (ctx.flags.bool("disable-eviction")) await client.delete(pods, namespace, name, deleteOptions);
      else
        await client.request("POST", resourcePath(pods, namespace, name, "eviction"), {
          body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace }, deleteOptions },
        });
      return;
    } catch (err) {
      if (isApiError(err, "NotFound") || isApiError(err, "Conflict")) return;
      if (!isApiError(err, "TooManyRequests")) throw err;
      if (ctx.io.clock.now() + EVICTION_RETRY_MS > deadline)
        throw new CliError(
          `timed out after ${ctx.flags.string("timeout")} draining node/${node}: evicting pod ${podName(p)}: ${err.message}`,
        );
      ctx.io.stderr.write(
        `error when evicting pods/"${name}" -n "${namespace}" (will retry after 5s): ${err.message}\n`,
      );
      if (ctx.io.signal.aborted) throw new CliError(`interrupted while draining node/${node}`);
      await ctx.io.clock.sleep(EVICTION_RETRY_MS);
    }
  }
}

async function drain(ctx: CommandContext, client: ApiClient, name: string, timeoutMs: number): Promise<void> {
  await setUnschedulable(ctx, client, name, true);
  const all = (await client.list(pods, undefined, { fieldSelector: `spec.nodeName=${name}` })).items as Pod[];
  const flags: DrainFlags = {
    force: ctx.flags.bool("force"),
    deleteEmptyDir: ctx.flags.bool("delete-emptydir-data"),
    ignoreDaemonSets: ctx.flags.bool("ignore-daemonsets"),
  };
  const refused = refusals(all, flags);
  if (refused.length > 0)
    throw new CliError(`cannot drain node/${name} (it stays cordoned): ${refused.join("; ")}`);
  const daemons = all.filter((p) => daemonPod(p) && !finished(p));
  if (daemons.length > 0)
    ctx.io.stderr.write(`Warning: ignoring DaemonSet-managed Pods: ${daemons.map(podName).join(", ")}\n`);
  const list = all.filter((p) => !daemons.includes(p));
  const deadline = timeoutMs > 0 ? ctx.io.clock.now() + timeoutMs : Number.POSITIVE_INFINITY;
  // Evictions run side by side, as kubectl's do: one pod held by its budget does not hold the rest.
  await Promise.all(
    list.map(async (p) => {
      if (flags.force && !p.metadata?.ownerReferences?.some((o) => o.controller) && !finished(p))
        ctx.io.stderr.write(`Warning: deleting Pods that declare no controller: ${podName(p)}\n`);
      ctx.io.stdout.write(`evicting pod ${podName(p)}\n`);
      await evict(ctx, client, p, name, deadline);
    }),
  );
  let pending = list;
  while (pending.length > 0) {
    const still: Pod[] = [];
    for (const p of pending) {
      if (await gone(client, p)) ctx.io.stdout.write(`pod/${p.metadata?.name ?? ""} evicted\n`);
      else still.push(p);
    }
    pending = still;
    if (pending.length === 0) break;
    if (ctx.io.signal.aborted) throw new CliError(`interrupted while draining node/${name}`);
    if (ctx.io.clock.now() >= deadline)
      throw new CliError(
        `timed out after ${ctx.flags.string("timeout")} draining node/${name}; pods still there: ${pending.map(podName).join(", ")}`,
      );
    await ctx.io.clock.sleep(POLL_MS);
  }
  ctx.io.stdout.write(`node/${name} drained\n`);
}

export const drainCommand: Command = {
  usage: [
    "kctl drain NODE... | -l SELECTOR [--ignore-daemonsets] [--force] [--delete-emptydir-data] [--grace-period N] [--timeout 5m]",
    "",
    "Examples:",
    "  kctl drain node2                    # before maintenance; kctl uncordon node2 afterwards",
  ].join("\n"),
  flags: [
    selectorFlag,
    { name: "force", kind: "boolean", help: "also delete pods that no controller will replace" },
    {
      name: "ignore-daemonsets",
      kind: "boolean",
      help: "leave DaemonSet-managed pods running instead of refusing to drain",
    },
    {
      name: "disable-eviction",
      kind: "boolean",
      help: "delete pods instead of evicting them, bypassing PodDisruptionBudgets",
    },
    {
      name: "delete-emptydir-data",
      kind: "boolean",
      help: "also delete pods with emptyDir volumes (their data is lost)",
    },
    {
      name: "grace-period",
      kind: "int",
      placeholder: "SECONDS",
      help: "seconds each pod gets to stop (default: the pod's own terminationGracePeriodSeconds)",
    },
    {
      name: "timeout",
      kind: "string",
      placeholder: "DURATION",
      help: "give up after this long, e.g. 90s or 5m (default: wait as long as it takes)",
    },
  ],
  async run(ctx) {
    const timeoutMs = parseTimeout(ctx.flags.string("timeout"));
    const grace = ctx.flags.int("grace-period");
    if (grace !== undefined && grace < 0) throw new UsageError("--grace-period: must be 0 or more");
    const { client } = await ctx.connect();
    for (const name of await targetNodes(ctx, client, "drain")) await drain(ctx, client, name, timeoutMs);
    return 0;
  },
};
