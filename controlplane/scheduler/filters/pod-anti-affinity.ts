/**
 * Required pod anti-affinity, both ways: the incoming pod's terms must select no pod already in the
 * node's topology domain, and no pod already placed may have a term selecting the incoming pod in
 * that domain. The forbidden domains (`topologyKey=value`) are collected once per attempt from the
 * pods a term can select and the placed terms that can select the pod (both found through the
 * cache's label indexes), so the per-node check is a label lookup per topology key.
 */
import { termSelects } from "../anti-affinity-terms.js";
import type { SchedulerCache } from "../cache.js";
import type { PodInfo } from "../pod-info.js";
import type { Filter } from "./filter.js";

export const reasonAntiAffinity = "node(s) didn't match pod anti-affinity rules";
export const reasonExistingAntiAffinity = "node(s) didn't satisfy existing pods anti-affinity rules";

/** topologyKey → label values whose domain is forbidden. */
type Domains = Map<string, Set<string>>;

export const podAntiAffinityFilter: Filter = {
  name: "InterPodAffinity",
  prepare(pod, cache) {
    const own = ownTermDomains(pod, cache);
    const existing = existingTermDomains(pod, cache);
    if (!own && !existing) return undefined;
    return (node, reasons) => {
      if (existing && inDomains(existing, node.labels, node.name)) {
        reasons.push(reasonExistingAntiAffinity);
        return false;
      }
      if (own && inDomains(own, node.labels, node.name)) {
        reasons.push(reasonAntiAffinity);
        return false;
      }
      return true;
    };
  },
};

function ownTermDomains(pod: PodInfo, cache: SchedulerCache): Domains | undefined {
  if (pod.antiAffinity.length === 0) return undefined;
  const domains: Domains = new Map();
  for (const term of pod.antiAffinity) {
    for (const { info, nodeName } of cache.candidatesFor(term.selector)) {
      if (info.key !== pod.key && termSelects(term, info.namespace, info.labels)) {
        addDomain(domains, term.topologyKey, cache, nodeName);
      }
    }
  }
  return domains.size > 0 ? domains : undefined;
}

function existingTermDomains(pod: PodInfo, cache: SchedulerCache): Domains | undefined {
  let domains: Domains | undefined;
  for (const { term, info, nodeName } of cache.termsThatMaySelect(pod.labels)) {
    if (info.key === pod.key || !termSelects(term, pod.namespace, pod.labels)) continue;
    domains ??= new Map();
    addDomain(domains, term.topologyKey, cache, nodeName);
  }
  return domains;
}

function addDomain(domains: Domains, topologyKey: string, cache: SchedulerCache, nodeName: string): void {
  const value = domainOf(cache.nodeLabels(nodeName), nodeName, topologyKey);
  // A node without the topology label is in no domain, so it constrains nobody.
  if (value === undefined) return;
  let values = domains.get(topologyKey);
  if (!values) {
    values = new Set();
    domains.set(topologyKey, values);
  }
  values.add(value);
}

function inDomains(domains: Domains, labels: Readonly<Record<string, string>>, nodeName: string): boolean {
  for (const [key, values] of domains) {
    const v = domainOf(labels, nodeName, key);
    if (v !== undefined && values.has(v)) return true;
  }
  return false;
}

export const hostnameLabel = "kubernetes.io/hostname";

/** The node's value for `topologyKey`; a node missing the hostname label is its own hostname domain. */
function domainOf(
  labels: Readonly<Record<string, string>>,
  nodeName: string,
  topologyKey: string,
): string | undefined {
  const value = labels[topologyKey];
  if (value === undefined && topologyKey === hostnameLabel) return nodeName;
  return value;
}
