/**
 * `kctl rollout status|history|undo|restart|pause|resume deployment/NAME` (status, history, undo
 * and restart of `daemonset/NAME`; status, history and undo of `statefulset/NAME`, see
 * rollout/statefulset.ts): drives a rollout by writing only what the workload's controller reads
 * (see controlplane/controllers/deployment/README.md and daemonset/README.md), and reads history
 * and progress with the functions the controllers use (foundation/workloads), so the CLI and the
 * controllers never disagree about revisions.
 */

import { qualifiedKind, resourceForKind } from "../../foundation/api/resources.js";
import { formatTable } from "../../foundation/printers/text-table.js";
import { rfc3339 } from "../../foundation/util/time.js";
import { daemonSetHistory, planDaemonSetRollback } from "../../foundation/workloads/daemonset/rollout.js";
import {
  planRollback,
  RollbackError,
  rolloutHistory,
} from "../../foundation/workloads/deployment/rollback.js";
import { statefulSetRolloutStatus } from "../../foundation/workloads/statefulset/rollout.js";
import type { ControllerRevision, DaemonSet, Deployment, ReplicaSet } from "../../proto/gen/api.js";
import { ApiClient, retryOnConflict } from "../client.js";
import type { Command, CommandContext } from "../command.js";
import { namespaceFlag, parseTimeout } from "../common-flags.js";
import { CliError, UsageError } from "../errors.js";
import { formatValue } from "../printers/object-output.js";
import { followRollout } from "../rollout/follow-rollout.js";
import { statefulSetHistory, undoStatefulSet } from "../rollout/statefulset.js";
import { parseWorkload, type Workload } from "../rollout/workload.js";
import { namespaceFlagValue } from "../targets.js";

const replicaSets = resourceForKind("apps/v1", "ReplicaSet")!;
const controllerRevisions = resourceForKind("apps/v1", "ControllerRevision")!;
const restartedAtAnnotation = "kubectl.kubernetes.io/restartedAt";
const verbs = ["status", "history", "undo", "restart", "pause", "resume"] as const;
type Verb = (typeof verbs)[number];

interface Target extends Workload {
  namespace: string;
  /** `deployment.apps/web`, the prefix of every line kctl prints about it. */
  label: string;
}

export const rolloutCommand: Command = {
  usage: [
    "kctl rollout status deployment/NAME|daemonset/NAME [-n NS] [--timeout 5m]",
    "       kctl rollout history deployment/NAME|daemonset/NAME [--revision N]",
    "       kctl rollout undo deployment/NAME|daemonset/NAME [--to-revision N]",
    "       kctl rollout restart deployment/NAME|daemonset/NAME",
    "       kctl rollout pause|resume deployment/NAME",
  ].join("\n"),
  flags: [
    namespaceFlag,
    {
      name: "timeout",
      kind: "string",
      placeholder: "DURATION",
      help: "status: give up after this long, e.g. 90s, 5m (default 0: wait for ever)",
    },
    {
      name: "to-revision",
      kind: "int",
      placeholder: "N",
      help: "undo: the revision to go back to (default: the previous one)",
    },
    {
      name: "revision",
      kind: "int",
      placeholder: "N",
      help: "history: show the pod template of one revision",
    },
  ],
  async run(ctx) {
    const [verbWord, ...rest] = ctx.positionals;
    if (!verbs.includes(verbWord as Verb)) {
      throw new UsageError(
        `kctl rollout: expected one of ${verbs.join(", ")}${verbWord ? `, got "${verbWord}"` : ""}`,
      );
    }
    const verb = verbWord as Verb;
    const only = (flag: string, allowed: Verb) => {
      if (ctx.flags.has(flag) && verb !== allowed)
        throw new UsageError(`--${flag} applies only to "rollout ${allowed}"`);
    };
    only("timeout", "status");
    only("to-revision", "undo");
    only("revision", "history");
    const timeoutMs = parseTimeout(ctx.flags.string("timeout"));
    // As upstream, a DaemonSet cannot be paused; StatefulSets have status, history and undo.
    const kinds =
      verb === "pause" || verb === "resume"
        ? ["Deployment"]
        : verb === "restart"
          ? ["Deployment", "DaemonSet"]
          : ["Deployment", "DaemonSet", "StatefulSet"];
    const workload = parseWorkload(rest, kinds, `rollout ${verb}`);
    const { client, access } = await ctx.connect();
    const target: Target = {
      ...workload,
      namespace: namespaceFlagValue(ctx.flags, access.namespace),
      label: `${qualifiedKind(workload.info)}/${workload.name}`,
    };
    if (workload.info.kind === "StatefulSet" && verb !== "status") {
      if (verb === "history" && ctx.flags.int("revision") !== undefined)
        throw new UsageError("--revision applies only to deployments");
      const line =
        verb === "history"
          ? await statefulSetHistory(client, target)
          : `${await undoStatefulSet(client, target, ctx.flags.int("to-revision") ?? 0)}\n`;
      ctx.io.stdout.write(line);
      return 0;
    }
    switch (verb) {
      case "status":
        return status(ctx, target, timeoutMs);
      case "history":
        return target.info.kind === "DaemonSet"
          ? daemonSetHistoryCommand(ctx, client, target, ctx.flags.int("revision"))
          : history(ctx, client, target, ctx.flags.int("revision"));
      case "undo":
        return target.info.kind === "DaemonSet"
          ? daemonSetUndo(ctx, client, target, ctx.flags.int("to-revision") ?? 0)
          : undo(ctx, client, target, ctx.flags.int("to-revision") ?? 0);
      case "restart":
        return restart(ctx, client, target);
      case "pause":
      case "resume":
        return setPaused(ctx, client, target, verb === "pause");
    }
  },
};

async function getDeployment(client: ApiClient, t: Target): Promise<Deployment> {
  return (await client.get(t.info, t.namespace, t.name)) as Deployment;
}

async function ownedReplicaSets(client: ApiClient, t: Target): Promise<ReplicaSet[]> {
  return (await client.list(replicaSets, t.namespace)).items as ReplicaSet[];
}

async function status(ctx: CommandContext, t: Target, timeoutMs: number): Promise<number> {
  const { access } = await ctx.connect();
  const stop = new AbortController();
  const onInterrupt = () => stop.abort();
  ctx.io.signal.addEventListener("abort", onInterrupt, { once: true });
  let timedOut = false;
  const timer =
    timeoutMs > 0
      ? ctx.io.clock.setTimer(timeoutMs, () => {
          timedOut = true;
          stop.abort();
        })
      : undefined;
  // A client of its own, so the timeout can cut its watch without touching the shared connection.
  const client = new ApiClient(access, stop.signal);
  try {
    const state = await followRollout({
      client,
      info: t.info,
      namespace: t.namespace,
      name: t.name,
      clock: ctx.io.clock,
      signal: stop.signal,
      print: (line) => ctx.io.stdout.write(`${line}\n`),
      ...(t.info.kind === "StatefulSet" ? { judge: (obj) => statefulSetRolloutStatus(obj as never) } : {}),
    });
    if (state === undefined) {
      if (timedOut)
        throw new CliError(
          `timed out after ${ctx.flags.string("timeout")} waiting for ${t.label} to roll out`,
        );
      return 130;
    }
    if (state.failed) throw new CliError(state.message);
    return 0;
  } finally {
    timer?.cancel();
    ctx.io.signal.removeEventListener("abort", onInterrupt);
    client.close();
  }
}

async function history(
  ctx: CommandContext,
  client: ApiClient,
  t: Target,
  revision: number | undefined,
): Promise<number> {
  const d = await getDeployment(client, t);
  const entries = rolloutHistory(
    d as Parameters<typeof rolloutHistory>[0],
    await ownedReplicaSets(client, t),
  );
  if (revision === undefined) {
    const rows = entries.map((e) => [String(e.revision), e.changeCause ?? "<none>"]);
    ctx.io.stdout.write(`${t.label}\n${formatTable([["REVISION", "CHANGE-CAUSE"], ...rows], 2)}`);
    return 0;
  }
  const entry = entries.find((e) => e.revision === revision);
  if (!entry) {
    const known = entries.map((e) => e.revision).join(", ") || "none";
    throw new CliError(`--revision: ${t.label} has no revision ${revision} (revisions: ${known})`);
  }
  ctx.io.stdout.write(
    `${t.label} with revision #${revision} (replica set ${entry.replicaSet})\nPod Template:\n${formatValue(entry.template ?? {}, "yaml")}`,
  );
  return 0;
}

async function undo(ctx: CommandContext, client: ApiClient, t: Target, toRevision: number): Promise<number> {
  if (toRevision < 0) throw new CliError(`--to-revision: must be 0 or more, got ${toRevision}`);
  // The PUT carries the version read; if the Deployment changed meanwhile, plan again from the new one.
  return retryOnConflict(async () => {
    const d = await getDeployment(client, t);
    let plan: ReturnType<typeof planRollback>;
    try {
      plan = planRollback(
        d as Parameters<typeof planRollback>[0],
        await ownedReplicaSets(client, t),
        toRevision,
      );
    } catch (err) {
      if (err instanceof RollbackError) throw new CliError(err.message);
      throw err;
    }
    if (plan.kind === "skipped") {
      ctx.io.stdout.write(`${t.label} ${plan.message}\n`);
      return 0;
    }
    await client.update(t.info, t.namespace, plan.deployment as Parameters<ApiClient["update"]>[2]);
    ctx.io.stdout.write(`${t.label} rolled back to revision ${plan.revision}\n`);
    return 0;
  });
}

async function daemonSetState(client: ApiClient, t: Target) {
  const ds = (await client.get(t.info, t.namespace, t.name)) as DaemonSet;
  const revisions = (await client.list(controllerRevisions, t.namespace)).items as ControllerRevision[];
  return { ds, revisions };
}

async function daemonSetHistoryCommand(
  ctx: CommandContext,
  client: ApiClient,
  t: Target,
  revision: number | undefined,
): Promise<number> {
  const { ds, revisions } = await daemonSetState(client, t);
  const entries = daemonSetHistory(ds, revisions);
  if (revision === undefined) {
    const rows = entries.map((e) => [String(e.revision), e.changeCause ?? "<none>"]);
    ctx.io.stdout.write(`${t.label}\n${formatTable([["REVISION", "CHANGE-CAUSE"], ...rows], 2)}`);
    return 0;
  }
  const entry = entries.find((e) => e.revision === revision);
  if (!entry) {
    const known = entries.map((e) => e.revision).join(", ") || "none";
    throw new CliError(`--revision: ${t.label} has no revision ${revision} (revisions: ${known})`);
  }
  ctx.io.stdout.write(
    `${t.label} with revision #${revision}\nPod Template:\n${formatValue(entry.template ?? {}, "yaml")}`,
  );
  return 0;
}

async function daemonSetUndo(
  ctx: CommandContext,
  client: ApiClient,
  t: Target,
  toRevision: number,
): Promise<number> {
  if (toRevision < 0) throw new CliError(`--to-revision: must be 0 or more, got ${toRevision}`);
  return retryOnConflict(async () => {
    const { ds, revisions } = await daemonSetState(client, t);
    let plan: ReturnType<typeof planDaemonSetRollback>;
    try {
      plan = planDaemonSetRollback(ds, revisions, toRevision);
    } catch (err) {
      if (err instanceof RollbackError) throw new CliError(err.message);
      throw err;
    }
    if (plan.kind === "skipped") {
      ctx.io.stdout.write(`${t.label} ${plan.message}\n`);
      return 0;
    }
    await client.update(t.info, t.namespace, plan.daemonSet as Parameters<ApiClient["update"]>[2]);
    ctx.io.stdout.write(`${t.label} rolled back\n`);
    return 0;
  });
}

async function restart(ctx: CommandContext, client: ApiClient, t: Target): Promise<number> {
  const d = await getDeployment(client, t);
  if (t.info.kind === "Deployment" && d.spec?.paused) {
    throw new CliError(`can't restart paused ${t.label} (run "kctl rollout resume ${t.label}" first)`);
  }
  const now = rfc3339(ctx.io.clock.now());
  await client.patch(t.info, t.namespace, t.name, {
    spec: { template: { metadata: { annotations: { [restartedAtAnnotation]: now } } } },
  });
  ctx.io.stdout.write(`${t.label} restarted\n`);
  return 0;
}

async function setPaused(
  ctx: CommandContext,
  client: ApiClient,
  t: Target,
  paused: boolean,
): Promise<number> {
  const d = await getDeployment(client, t);
  if (Boolean(d.spec?.paused) === paused) {
    throw new CliError(`${t.label} is ${paused ? "already paused" : "not paused"}`);
  }
  await client.patch(t.info, t.namespace, t.name, { spec: { paused } });
  ctx.io.stdout.write(`${t.label} ${paused ? "paused" : "resumed"}\n`);
  return 0;
}
