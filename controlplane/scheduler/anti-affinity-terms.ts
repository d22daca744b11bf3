/**
 * A pod's required pod anti-affinity terms, compiled once: the label selector, the namespaces it
 * applies to (the pod's own when the term lists none) and the topology key (usually
 * `kubernetes.io/hostname`, where the topology domain is the node itself).
 */

import {
  type LabelSelectorInput,
  matchesSelector,
  type Selector,
  selectorFromLabelSelector,
} from "../../foundation/api/labels.js";
import type { DeepReadonly } from "../../foundation/api/readonly.js";
import { tracer } from "../../foundation/util/trace.js";
import type { Pod } from "../../proto/gen/api.js";

const trace = tracer("scheduler");

export interface AntiAffinityTerm {
  readonly selector: Selector;
  readonly namespaces: ReadonlySet<string>;
  readonly topologyKey: string;
}

export function compileAntiAffinityTerms(pod: DeepReadonly<Pod>): AntiAffinityTerm[] {
  const terms = pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (!terms?.length) return [];
  const ownNamespace = pod.metadata.namespace ?? "";
  const out: AntiAffinityTerm[] = [];
  terms.forEach((term, i) => {
    // A term without a selector or topology key selects nothing (Kubernetes validation forbids both).
    if (!term.labelSelector || !term.topologyKey) return;
    let selector: Selector;
    try {
      // The generated LabelSelector marks `key` optional; selectorFromLabelSelector rejects a missing key.
      selector = selectorFromLabelSelector(term.labelSelector as LabelSelectorInput);
    } catch (err) {
      trace(`pod ${pod.metadata.namespace}/${pod.metadata.name}: ignoring anti-affinity term ${i}: ${err}`);
      return;
    }
    const namespaces = new Set(term.namespaces?.length ? term.namespaces : [ownNamespace]);
    out.push({ selector, namespaces, topologyKey: term.topologyKey });
  });
  return out;
}

/** True when `term` (of some pod) selects a pod with these namespace and labels. */
export function termSelects(
  term: AntiAffinityTerm,
  namespace: string,
  labels: Readonly<Record<string, string>>,
): boolean {
  return term.namespaces.has(namespace) && matchesSelector(term.selector, labels);
}
