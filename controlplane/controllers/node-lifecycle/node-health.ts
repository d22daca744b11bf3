/**
 * A node's health as the lifecycle controller judges it, and the node it implies: when its agent
 * last proved alive (the heartbeat Lease's renewTime), the conditions Kubernetes writes when a node
 * goes silent (every condition Unknown, reason NodeStatusUnknown), and the taints that follow its
 * Ready condition (Unknown → `unreachable`, False → `not-ready`, each NoSchedule and NoExecute)
 * and `spec.unschedulable` (`unschedulable:NoSchedule`, as Kubernetes' TaintNodesByCondition).
 * Pure functions of their inputs; other taints are never touched.
 */
import type { Lease, Node, NodeCondition, Taint } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";
import { notReadyTaintKey, unreachableTaintKey, unschedulableTaintKey } from "./taint-eviction.js";

const healthTaintKeys: readonly string[] = [notReadyTaintKey, unreachableTaintKey];
const healthEffects: readonly string[] = ["NoSchedule", "NoExecute"];

/** Ms since the epoch of the lease's last renewal; undefined when there is none (or it is unreadable). */
export function lastRenewal(lease: DeepReadonly<Lease> | undefined): number | undefined {
  const t = lease?.spec?.renewTime ? Date.parse(lease.spec.renewTime) : Number.NaN;
  return Number.isNaN(t) ? undefined : t;
}

export function readyStatus(node: DeepReadonly<Node>): string | undefined {
  return node.status?.conditions?.find((c) => c.type === "Ready")?.status;
}

/**
 * The conditions of a node whose agent went silent: each one Unknown (its transition time now,
 * unless it was Unknown already), and a Ready condition even if the agent never posted one.
 */
export function silentNodeConditions(
  conditions: readonly DeepReadonly<NodeCondition>[],
  now: string,
): NodeCondition[] {
  const out: NodeCondition[] = conditions.map((c) =>
    c.status === "Unknown"
      ? structuredClone(c as NodeCondition)
      : {
          ...structuredClone(c as NodeCondition),
          status: "Unknown",
          reason: "NodeStatusUnknown",
          message: "Kubelet stopped posting node status.",
          lastTransitionTime: now,
        },
  );
  if (!out.some((c) => c.type === "Ready")) {
    out.push({
      type: "Ready",
      status: "Unknown",
      reason: "NodeStatusNeverUpdated",
      message: "Kubelet never posted node status.",
      lastHeartbeatTime: now,
      lastTransitionTime: now,
    });
  }
  return out;
}

function isManagedTaint(t: DeepReadonly<Taint>): boolean {
  if (t.key === unschedulableTaintKey) return t.effect === "NoSchedule";
  return healthTaintKeys.includes(t.key ?? "") && healthEffects.includes(t.effect ?? "");
}

/**
 * The node's taints with the health taints made to match `ready` (the Ready condition's status)
 * and the unschedulable taint to match `unschedulable`: a taint already present keeps its
 * timeAdded, so eviction clocks do not restart.
 */
export function taintsFor(
  existing: readonly DeepReadonly<Taint>[],
  ready: string | undefined,
  unschedulable: boolean,
  now: string,
): Taint[] {
  const out: Taint[] = existing.filter((t) => !isManagedTaint(t)).map((t) => structuredClone(t as Taint));
  const keep = (key: string, effect: string) => {
    const old = existing.find((t) => t.key === key && t.effect === effect);
    out.push(old ? structuredClone(old as Taint) : { key, effect, timeAdded: now });
  };
  // No Ready condition yet: the agent has not reported; the grace period decides (it turns Unknown).
  const key = ready === "False" ? notReadyTaintKey : ready === "Unknown" ? unreachableTaintKey : undefined;
  if (key) for (const effect of healthEffects) keep(key, effect);
  if (unschedulable) keep(unschedulableTaintKey, "NoSchedule");
  return out;
}

export function sameTaints(a: readonly DeepReadonly<Taint>[], b: readonly DeepReadonly<Taint>[]): boolean {
  const norm = (ts: readonly DeepReadonly<Taint>[]) =>
    ts
      .map((t) => `${t.key}=${t.value ?? ""}:${t.effect}@${t.timeAdded ?? ""}`)
      .sort()
      .join(",");
  return norm(a) === norm(b);
}
