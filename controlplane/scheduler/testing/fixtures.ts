/**
 * Builders of Nodes and Pods for scheduler tests and benchmarks: short option lists in, complete
 * API objects out (Ready nodes with allocatable resources, pods with requests and scheduling rules).
 */

import { deepFreeze } from "../../../foundation/api/readonly.js";
import { FakeClock } from "../../../foundation/util/clock.js";
import type { Node, Pod, PodAffinityTerm, Taint, Toleration } from "../../../proto/gen/api.js";
import { SchedulerCache } from "../cache.js";
import type { Filter } from "../filters/filter.js";
import { podInfo } from "../pod-info.js";

export interface NodeOptions {
  cpu?: string;
  memory?: string;
  pods?: string;
  labels?: Record<string, string>;
  taints?: Taint[];
  ready?: boolean;
  unschedulable?: boolean;
  resourceVersion?: string;
}

export function makeNode(name: string, o: NodeOptions = {}): Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      uid: `uid-node-${name}`,
      resourceVersion: o.resourceVersion ?? "1",
      labels: { "kubernetes.io/hostname": name, ...o.labels },
    },
    spec: { unschedulable: o.unschedulable ?? false, taints: o.taints ?? [] },
    status: {
      allocatable: { cpu: o.cpu ?? "4", memory: o.memory ?? "8Gi", pods: o.pods ?? "110" },
      conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }],
    },
  };
}

export interface PodOptions {
  namespace?: string;
  cpu?: string;
  memory?: string;
  /** Extra app containers' requests. */
  containers?: { cpu?: string; memory?: string }[];
  init?: { cpu?: string; memory?: string }[];
  nodeName?: string;
  labels?: Record<string, string>;
  nodeSelector?: Record<string, string>;
  nodeAffinity?: NonNullable<NonNullable<Pod["spec"]>["affinity"]>["nodeAffinity"];
  antiAffinity?: PodAffinityTerm[];
  tolerations?: Toleration[];
  priority?: number;
  /** uid of the controlling owner. */
  owner?: string;
  schedulerName?: string;
  phase?: string;
  resourceVersion?: string;
}

export function makePod(name: string, o: PodOptions = {}): Pod {
  const requests = (r: { cpu?: string; memory?: string }) => ({
    ...(r.cpu !== undefined && { cpu: r.cpu }),
    ...(r.memory !== undefined && { memory: r.memory }),
  });
  const spec: NonNullable<Pod["spec"]> & { priority?: number } = {
    containers: [
      { name: "app", image: "busybox", resources: { requests: requests(o) } },
      ...(o.containers ?? []).map((c, i) => ({
        name: `c${i}`,
        image: "busybox",
        resources: { requests: requests(c) },
      })),
    ],
    ...(o.init && {
      initContainers: o.init.map((c, i) => ({
        name: `init${i}`,
        image: "busybox",
        resources: { requests: requests(c) },
      })),
    }),
    ...(o.nodeName !== undefined && { nodeName: o.nodeName }),
    ...(o.nodeSelector && { nodeSelector: o.nodeSelector }),
    ...(o.tolerations && { tolerations: o.tolerations }),
    ...(o.schedulerName !== undefined && { schedulerName: o.schedulerName }),
    ...(o.priority !== undefined && { priority: o.priority }),
    ...((o.nodeAffinity || o.antiAffinity) && {
      affinity: {
        ...(o.nodeAffinity && { nodeAffinity: o.nodeAffinity }),
        ...(o.antiAffinity && {
          podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: o.antiAffinity },
        }),
      },
    }),
  };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: o.namespace ?? "default",
      uid: `uid-pod-${name}`,
      resourceVersion: o.resourceVersion ?? "1",
      labels: o.labels ?? {},
      ...(o.owner && {
        ownerReferences: [
          { apiVersion: "apps/v1", kind: "ReplicaSet", name: o.owner, uid: o.owner, controller: true },
        ],
      }),
    },
    spec,
    status: { phase: o.phase ?? "Pending" },
  };
}

/**
 * Runs one filter for `pod` against `node`, with `placed` pods already on their nodes (and `others`
 * as further nodes); returns the reasons it gave, [] when the node passes.
 */
export function filterReasons(
  filter: Filter,
  pod: Pod,
  node: Node,
  placed: Pod[] = [],
  others: Node[] = [],
): string[] {
  const cache = new SchedulerCache(new FakeClock());
  for (const n of [node, ...others]) cache.setNode(deepFreeze(n));
  for (const p of placed) cache.addBoundPod(podInfo(deepFreeze(p)), p.spec?.nodeName ?? node.metadata.name!);
  const check = filter.prepare(podInfo(deepFreeze(pod)), cache);
  const reasons: string[] = [];
  if (check && !check(cache.node(node.metadata.name!)!, reasons) && reasons.length === 0) {
    throw new Error(`filter ${filter.name} failed without a reason`);
  }
  return reasons;
}
