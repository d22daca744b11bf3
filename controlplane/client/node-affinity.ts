/**
 * Compiles a pod's `nodeSelector` and required node affinity into one predicate over node labels,
 * so the per-node check is a few map lookups; the scheduler and the DaemonSet controller share it.
 * Semantics follow Kubernetes: every nodeSelector pair must match, and at least one nodeSelectorTerm must match; a term's expressions (and fields) are
 * ANDed; a term with no requirements, or an empty term list, matches no node.
 */

import type { DeepReadonly } from "../../foundation/api/readonly.js";
import type { NodeAffinity, NodeSelectorRequirement } from "../../proto/gen/api.js";

export type NodeMatcher = (labels: Readonly<Record<string, string>>, nodeName: string) => boolean;

type Check = (labels: Readonly<Record<string, string>>, nodeName: string) => boolean;

export function compileNodeAffinity(
  nodeSelector: DeepReadonly<Record<string, string>> | undefined,
  affinity: DeepReadonly<NodeAffinity> | undefined,
): NodeMatcher | undefined {
  const selectorPairs = Object.entries(nodeSelector ?? {});
  const required = affinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (selectorPairs.length === 0 && !required) return undefined;
  const terms: Check[][] | undefined = required
    ? (required.nodeSelectorTerms ?? []).map((term) => [
        ...(term.matchExpressions ?? []).map((r) => labelCheck(r)),
        ...(term.matchFields ?? []).map((r) => fieldCheck(r)),
      ])
    : undefined;
  return (labels, nodeName) => {
    for (const [k, v] of selectorPairs) if (labels[k] !== v) return false;
    if (!terms) return true;
    for (const checks of terms) {
      if (checks.length === 0) continue;
      let all = true;
      for (const check of checks) {
        if (!check(labels, nodeName)) {
          all = false;
          break;
        }
      }
      if (all) return true;
    }
    return false;
  };
}

function labelCheck(r: DeepReadonly<NodeSelectorRequirement>): Check {
  const key = r.key ?? "";
  const values = new Set(r.values ?? []);
  switch (r.operator) {
    case "In":
      return (labels) => Object.hasOwn(labels, key) && values.has(labels[key]!);
    case "NotIn":
      return (labels) => !Object.hasOwn(labels, key) || !values.has(labels[key]!);
    case "Exists":
      return (labels) => Object.hasOwn(labels, key);
    case "DoesNotExist":
      return (labels) => !Object.hasOwn(labels, key);
    case "Gt":
    case "Lt": {
      const bound = integer(r.values?.[0]);
      if (bound === undefined || (r.values?.length ?? 0) !== 1) return () => false;
      const gt = r.operator === "Gt";
      return (labels) => {
        const n = integer(labels[key]);
        return n !== undefined && (gt ? n > bound : n < bound);
      };
    }
    default:
      // An unknown operator can never be satisfied (the apiserver rejects it on write).
      return () => false;
  }
}

/** Only `metadata.name` with In/NotIn is defined for matchFields, as in Kubernetes. */
function fieldCheck(r: DeepReadonly<NodeSelectorRequirement>): Check {
  const values = new Set(r.values ?? []);
  if (r.key !== "metadata.name") return () => false;
  if (r.operator === "In") return (_labels, name) => values.has(name);
  if (r.operator === "NotIn") return (_labels, name) => !values.has(name);
  return () => false;
}

function integer(text: string | undefined): number | undefined {
  return text !== undefined && /^-?\d+$/.test(text) ? Number(text) : undefined;
}
