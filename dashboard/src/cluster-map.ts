/** What the cluster map draws: hosts as boxes with their pods, each pod and host with its state. */
import type { Node, NodeMetrics, Pod } from "./kube-types";
import { parseQuantity } from "./quantity";

export type PodTone = "ready" | "unready" | "pending" | "failed" | "succeeded" | "terminating";

/** A pod's colour on the map: what an operator asks first (is it serving, and if not, why). */
export function podTone(pod: Pod): PodTone {
  if (pod.metadata.deletionTimestamp) return "terminating";
  switch (pod.status?.phase) {
    case "Succeeded":
      return "succeeded";
    case "Failed":
      return "failed";
    case "Running":
      return pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True")
        ? "ready"
        : "unready";
    default:
      return "pending";
  }
}

export interface Usage {
  used: number;
  capacity: number;
  /** used / capacity, 0..1 (clamped: usage may briefly exceed allocatable). */
  fraction: number;
}

export interface HostBox {
  name: string;
  /**
   * False for a host known only from its pods' spec.nodeName: a user who may not list nodes
   * (ClusterRole view cannot), or a Node deleted while its pods remain. Its state is unknown.
   */
  listed: boolean;
  ready: boolean;
  /** The node lifecycle controller's taint: the host stopped reporting. */
  unreachable: boolean;
  unschedulable: boolean;
  pods: Pod[];
  cpu?: Usage;
  memory?: Usage;
}

function usage(used: string | undefined, capacity: string | undefined): Usage | undefined {
  const u = parseQuantity(used);
  const c = parseQuantity(capacity);
  if (u === undefined || !c) return undefined;
  return { used: u, capacity: c, fraction: Math.min(1, u / c) };
}

/**
 * One box per node, in name order, holding the pods bound to it (by namespace and name), with
 * CPU and memory usage against allocatable where the metrics API reported the node. Pods bound
 * to no node are `unplaced`; pods bound to a node not listed get a box of their own, marked
 * unlisted, after the listed ones.
 */
export function hostBoxes(
  nodes: readonly Node[],
  pods: readonly Pod[],
  metrics: readonly NodeMetrics[] = [],
): { hosts: HostBox[]; unplaced: Pod[] } {
  const byNode = new Map<string, Pod[]>();
  const unplaced: Pod[] = [];
  for (const pod of pods) {
    const node = pod.spec.nodeName;
    if (!node) {
      unplaced.push(pod);
      continue;
    }
    const list = byNode.get(node);
    if (list) list.push(pod);
    else byNode.set(node, [pod]);
  }
  const usageOf = new Map(metrics.map((m) => [m.metadata.name, m.usage]));
  const podOrder = (a: Pod, b: Pod) =>
    `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`);
  const hosts = [...nodes]
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
    .map((node): HostBox => {
      const name = node.metadata.name;
      const allocatable = node.status?.allocatable ?? node.status?.capacity ?? {};
      const unreachable = node.spec?.taints?.some((t) => t.key === "node.kubernetes.io/unreachable") ?? false;
      // The metrics API keeps serving a lost host's last sample; drawing it would claim it is current.
      const used = unreachable ? undefined : usageOf.get(name);
      const cpu = usage(used?.cpu, allocatable.cpu);
      const memory = usage(used?.memory, allocatable.memory);
      return {
        name,
        listed: true,
        ready: node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
        unreachable,
        unschedulable: node.spec?.unschedulable ?? false,
        pods: (byNode.get(name) ?? []).sort(podOrder),
        ...(cpu ? { cpu } : {}),
        ...(memory ? { memory } : {}),
      };
    });
  const listed = new Set(nodes.map((n) => n.metadata.name));
  const unlisted = [...byNode.keys()]
    .filter((name) => !listed.has(name))
    .sort()
    .map(
      (name): HostBox => ({
        name,
        listed: false,
        ready: false,
        unreachable: false,
        unschedulable: false,
        pods: byNode.get(name)!.sort(podOrder),
      }),
    );
  return { hosts: [...hosts, ...unlisted], unplaced: unplaced.sort(podOrder) };
}
