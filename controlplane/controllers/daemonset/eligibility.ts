/**
 * Which nodes a DaemonSet belongs on (upstream's NodeShouldRunDaemonPod): a node whose name, labels
 * and taints the daemon pod fits should run one; a node it no longer fits keeps its pod only while
 * every NoExecute taint there is tolerated (a NoSchedule taint added later does not evict).
 */

import { toleratedByAny } from "../../../foundation/api/tolerations.js";
import type { DaemonSet, Node, Taint } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";
import { compileNodeAffinity } from "../../client/node-affinity.js";
import { withDaemonTolerations } from "./daemon-pod.js";

export interface Placement {
  /** A pod should be created here if there is none. */
  shouldRun: boolean;
  /** A pod already here may stay. */
  shouldContinueRunning: boolean;
}

const nowhere: Placement = { shouldRun: false, shouldContinueRunning: false };

/** Compiles `ds`'s placement rules once, for checking every node. */
export function placementFor(ds: DeepReadonly<DaemonSet>): (node: DeepReadonly<Node>) => Placement {
  const spec = ds.spec?.template?.spec;
  const matcher = compileNodeAffinity(spec?.nodeSelector, spec?.affinity?.nodeAffinity);
  const tolerations = withDaemonTolerations(spec);
  const untolerated = (taints: readonly DeepReadonly<Taint>[], effects: readonly string[]) =>
    taints.some((t) => effects.includes(t.effect ?? "") && !toleratedByAny(tolerations, t as Taint));
  return (node) => {
    const name = node.metadata.name ?? "";
    if (spec?.nodeName && spec.nodeName !== name) return nowhere;
    if (matcher && !matcher(node.metadata.labels ?? {}, name)) return nowhere;
    const taints = node.spec?.taints ?? [];
    if (untolerated(taints, ["NoSchedule", "NoExecute"])) {
      return { shouldRun: false, shouldContinueRunning: !untolerated(taints, ["NoExecute"]) };
    }
    return { shouldRun: true, shouldContinueRunning: true };
  };
}
