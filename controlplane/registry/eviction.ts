/**
 * POST pods/{name}/eviction (upstream's EvictionREST): a pod deletion that respects the
 * PodDisruptionBudget covering the pod. Pods already not running (Pending, finished, terminating)
 * and pods no budget covers are deleted at once. Otherwise the budget's disruptionsAllowed is
 * decremented and the pod recorded in status.disruptedPods, in one status write whose
 * resourceVersion precondition makes concurrent evictions take turns; at 0 the answer is 429
 * TooManyRequests, which clients (drain) retry. The disruption controller recomputes the budget
 * once the pod is gone.
 */

import { decodeMessage } from "../../foundation/api/codec.js";
import { ApiError, isApiError } from "../../foundation/api/errors.js";
import { matchesSelector, selectorFromLabelSelector } from "../../foundation/api/labels.js";
import { resourceForKind } from "../../foundation/api/resources.js";
import { type Clock, realClock } from "../../foundation/util/clock.js";
import { rfc3339 } from "../../foundation/util/time.js";
import type { Eviction, Pod, PodDisruptionBudget, Preconditions } from "../../proto/gen/api.js";
import type { DeleteOptions, Registry } from "./registry.js";

const pods = resourceForKind("v1", "Pod")!;
const budgets = resourceForKind("policy/v1", "PodDisruptionBudget")!;

/** How often a write that lost a race (Conflict) is tried again before the client gets it. */
const attempts = 5;
/** Upstream's MaxDisruptedPodSize: more evictions not yet confirmed by the controller are refused. */
const maxDisruptedPods = 2000;
export const violationMessage = "Cannot evict pod as it would violate the pod's disruption budget.";

const isReady = (pod: Pod) =>
  pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/** Pods whose deletion disrupts nothing more: not running yet, finished, or already terminating. */
const canIgnoreBudget = (pod: Pod) =>
  ["Pending", "Succeeded", "Failed"].includes(pod.status?.phase ?? "") ||
  Boolean(pod.metadata.deletionTimestamp);

const tooManyRequests = (cause: string) =>
  new ApiError("TooManyRequests", violationMessage, {
    retryAfterSeconds: 0,
    causes: [{ reason: "DisruptionBudget", message: cause, field: "" }],
  });

function deleteOptionsOf(eviction: Eviction, dryRun: boolean): DeleteOptions {
  const d = eviction.deleteOptions ?? {};
  const opts: DeleteOptions = {};
  if (d.gracePeriodSeconds !== undefined) opts.gracePeriodSeconds = d.gracePeriodSeconds;
  if (d.preconditions) opts.preconditions = { ...d.preconditions };
  if (d.propagationPolicy)
    opts.propagationPolicy = d.propagationPolicy as NonNullable<DeleteOptions["propagationPolicy"]>;
  if (dryRun || (d.dryRun ?? []).includes("All")) opts.dryRun = true;
  return opts;
}

/** `opts` with the pod's resourceVersion as a precondition, unless the client set its own. */
function pinned(opts: DeleteOptions, pod: Pod): DeleteOptions {
  if (opts.preconditions?.resourceVersion) return opts;
  const preconditions: Preconditions = {
    ...opts.preconditions,
    resourceVersion: pod.metadata.resourceVersion ?? "",
  };
  return { ...opts, preconditions };
}

/** The budgets of `pod`'s namespace whose selector matches it (a budget without a selector matches none). */
async function budgetsFor(registry: Registry, pod: Pod): Promise<PodDisruptionBudget[]> {
  const list = await registry.list(budgets, { namespace: pod.metadata.namespace ?? "" });
  return (list.items as PodDisruptionBudget[]).filter((pdb) => {
    if (!pdb.spec?.selector) return false;
    try {
      return matchesSelector(selectorFromLabelSelector(pdb.spec.selector), pod.metadata.labels ?? {});
    } catch {
      return false;
    }
  });
}

/**
 * Takes one disruption from `pdb` for pod `podName`, or throws 429 when there is none to take.
 * The status write carries the budget's resourceVersion: a Conflict means another eviction won.
 */
async function takeDisruption(
  registry: Registry,
  pdb: PodDisruptionBudget,
  podName: string,
  now: number,
  dryRun: boolean,
): Promise<void> {
  const s = pdb.status ?? {};
  const name = pdb.metadata.name ?? "";
  if ((s.observedGeneration ?? 0) < (pdb.metadata.generation ?? 0))
    throw tooManyRequests(`The disruption budget ${name} is still being processed by the server.`);
  const allowed = s.disruptionsAllowed ?? 0;
  if (allowed < 0)
    throw new ApiError(
      "Forbidden",
      `poddisruptionbudgets.policy "${name}" is forbidden: pdb disruptions allowed is negative`,
    );
  if (Object.keys(s.disruptedPods ?? {}).length > maxDisruptedPods) {
    throw new ApiError(
      "Forbidden",
      `poddisruptionbudgets.policy "${name}" is forbidden: DisruptedPods map too big - too many evictions not confirmed by PDB controller`,
    );
  }
  if (allowed === 0)
    throw tooManyRequests(
      `The disruption budget ${name} needs ${s.desiredHealthy ?? 0} healthy pods and has ${s.currentHealthy ?? 0} currently`,
    );
  if (dryRun) return;
  const status = {
    ...s,
    disruptionsAllowed: allowed - 1,
    disruptedPods: { ...s.disruptedPods, [podName]: rfc3339(now) },
  };
  if (status.disruptionsAllowed === 0) {
    status.conditions = (s.conditions ?? []).map((c) =>
      c.type === "DisruptionAllowed" && c.status !== "False"
        ? { ...c, status: "False", reason: "InsufficientPods", message: "", lastTransitionTime: rfc3339(now) }
        : c,
    );
  }
  await registry.updateStatus(budgets, pdb.metadata.namespace, name, { ...pdb, status });
}

/**
 * Evicts pod `name` of `namespace` as the Eviction `raw` asks. Resolves once the pod's deletion is
 * accepted; throws 429 TooManyRequests when its budget allows no disruption now.
 */
export async function evictPod(
  registry: Registry,
  namespace: string,
  name: string,
  raw: unknown,
  opts: { dryRun?: boolean; clock?: Clock } = {},
): Promise<void> {
  const eviction = decodeMessage<Eviction>("Eviction", raw);
  if (eviction.metadata?.name && eviction.metadata.name !== name)
    throw new ApiError("BadRequest", "name in URL does not match name in Eviction object");
  const original = deleteOptionsOf(eviction, opts.dryRun ?? false);
  // With the client's own resourceVersion precondition a Conflict is its answer, not ours to retry.
  const retryConflicts = !original.preconditions?.resourceVersion;
  let pod: Pod | undefined;
  for (let attempt = 1; ; attempt++) {
    pod = (await registry.get(pods, namespace, name)) as Pod;
    if (!canIgnoreBudget(pod)) break;
    const terminal =
      ["Succeeded", "Failed"].includes(pod.status?.phase ?? "") || pod.metadata.deletionTimestamp;
    try {
      await registry.delete(pods, namespace, name, terminal ? original : pinned(original, pod));
      return;
    } catch (err) {
      if (!isApiError(err, "Conflict") || !retryConflicts || attempt >= attempts) throw err;
    }
  }
  const covering = await budgetsFor(registry, pod);
  if (covering.length > 1)
    throw new ApiError(
      "InternalError",
      "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
    );
  let pinDelete = false;
  const pdb = covering[0];
  if (pdb) {
    const ready = isReady(pod);
    if (!ready && pdb.spec?.unhealthyPodEvictionPolicy === "AlwaysAllow") pinDelete = true;
    else {
      let current = pdb;
      for (let attempt = 1; ; attempt++) {
        const s = current.status ?? {};
        // An unready pod does not count as healthy: evicting it takes nothing from a budget that is met.
        if (!ready && (s.desiredHealthy ?? 0) > 0 && (s.currentHealthy ?? 0) >= (s.desiredHealthy ?? 0)) {
          pinDelete = true;
          break;
        }
        try {
          await takeDisruption(
            registry,
            current,
            name,
            (opts.clock ?? realClock).now(),
            original.dryRun ?? false,
          );
          break;
        } catch (err) {
          if (!isApiError(err, "Conflict") || attempt >= attempts) throw err;
          current = (await registry.get(budgets, namespace, pdb.metadata.name ?? "")) as PodDisruptionBudget;
        }
      }
    }
  }
  try {
    await registry.delete(pods, namespace, name, pinDelete ? pinned(original, pod) : original);
  } catch (err) {
    // The pod changed (turned Ready, say) since it was judged: the client should ask again.
    if (isApiError(err, "Conflict") && pinDelete && !original.preconditions?.resourceVersion)
      throw tooManyRequests(`The pod ${name} changed while it was being evicted`);
    throw err;
  }
}
