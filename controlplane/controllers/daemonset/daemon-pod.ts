/**
 * The pod a DaemonSet runs on one node (upstream's CreatePodTemplate plus
 * ReplaceDaemonSetPodNodeNameNodeAffinity): the template with the controller-revision-hash label,
 * the tolerations every daemon pod gets, and a required node affinity on the node's
 * `metadata.name`, so the default scheduler (not the controller) binds it, to that node only.
 */

import { newControllerRef } from "../../../foundation/api/owner-references.js";
import { controllerRevisionHashLabel } from "../../../foundation/workloads/history/index.js";
import type { Affinity, DaemonSet, Pod, PodSpec, Toleration } from "../../../proto/gen/api.js";
import type { DeepReadonly } from "../../client/index.js";

type ReadonlyPod = DeepReadonly<Pod>;

/** The field a node affinity's matchFields may name: the node's name. */
export const nodeNameField = "metadata.name";

const exists = (key: string, effect: string): Toleration => ({ key, operator: "Exists", effect });

/**
 * Upstream's AddOrUpdateDaemonPodTolerations: a daemon pod stays through a node going not-ready or
 * unreachable, and lands despite pressure and cordons (node agents, log shippers and CNI plugins are
 * what bring such nodes back). Upstream adds network-unavailable for host-network pods; pods here
 * have no hostNetwork field, so that one never applies.
 */
export function daemonTolerations(): Toleration[] {
  return [
    exists("node.kubernetes.io/not-ready", "NoExecute"),
    exists("node.kubernetes.io/unreachable", "NoExecute"),
    exists("node.kubernetes.io/disk-pressure", "NoSchedule"),
    exists("node.kubernetes.io/memory-pressure", "NoSchedule"),
    exists("node.kubernetes.io/pid-pressure", "NoSchedule"),
    exists("node.kubernetes.io/unschedulable", "NoSchedule"),
  ];
}

const sameToleration = (a: DeepReadonly<Toleration>, b: Toleration) =>
  (a.key ?? "") === (b.key ?? "") &&
  (a.operator ?? "Equal") === (b.operator ?? "Equal") &&
  (a.value ?? "") === (b.value ?? "") &&
  (a.effect ?? "") === (b.effect ?? "");

/** The template's tolerations plus the daemon ones it does not already list. */
export function withDaemonTolerations(spec: DeepReadonly<PodSpec> | undefined): Toleration[] {
  const own = (spec?.tolerations ?? []).map((t) => structuredClone(t) as Toleration);
  for (const t of daemonTolerations()) if (!own.some((o) => sameToleration(o, t))) own.push(t);
  return own;
}

/**
 * `affinity` with its required node affinity replaced by `metadata.name In [nodeName]`; the rest
 * (preferred terms, pod affinity) kept. The controller has already checked the template's own
 * required terms against the node, so nothing is lost by replacing them.
 */
export function nodeNameAffinity(affinity: DeepReadonly<Affinity> | undefined, nodeName: string): Affinity {
  const out = structuredClone(affinity ?? {}) as Affinity;
  out.nodeAffinity ??= {};
  out.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = {
    nodeSelectorTerms: [{ matchFields: [{ key: nodeNameField, operator: "In", values: [nodeName] }] }],
  };
  return out;
}

/** A new pod of `ds` for node `nodeName`, from the template whose revision hash is `hash`. */
export function newDaemonPod(ds: DeepReadonly<DaemonSet>, nodeName: string, hash: string): Pod {
  const template = ds.spec?.template;
  const spec = structuredClone(template?.spec ?? {}) as PodSpec;
  spec.tolerations = withDaemonTolerations(template?.spec);
  spec.affinity = nodeNameAffinity(template?.spec?.affinity, nodeName);
  const pod: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: `${ds.metadata.name}-`,
      namespace: ds.metadata.namespace ?? "",
      labels: { ...template?.metadata?.labels, [controllerRevisionHashLabel]: hash },
      ownerReferences: [newControllerRef(ds)],
    },
    spec,
  };
  if (template?.metadata?.annotations) pod.metadata.annotations = { ...template.metadata.annotations };
  return pod;
}

/**
 * The node a daemon pod is for (upstream's GetTargetNodeName): where it is bound, else the node its
 * `metadata.name` affinity names while it waits for the scheduler. Undefined for neither.
 */
export function targetNodeName(pod: ReadonlyPod): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  for (const term of terms ?? []) {
    for (const f of term.matchFields ?? []) {
      if (f.key === nodeNameField && f.operator === "In" && f.values?.length === 1) return f.values[0];
    }
  }
  return undefined;
}

/** Whether `pod` runs the template of revision `hash`. */
export const isPodUpdated = (pod: ReadonlyPod, hash: string): boolean =>
  hash !== "" && pod.metadata.labels?.[controllerRevisionHashLabel] === hash;
