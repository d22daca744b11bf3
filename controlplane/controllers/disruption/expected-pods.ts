/**
 * How many pods a budget expects and how many must stay healthy (upstream's getExpectedPodCount):
 * an integer minAvailable counts the selected pods as they are; maxUnavailable and a percent
 * minAvailable are taken against the sum of the scales of the pods' controllers (a Deployment's
 * replicas through its ReplicaSets, a bare ReplicaSet's replicas, a StatefulSet's replicas, a
 * DaemonSet's desired nodes),
 * percents rounded up. A pod whose controller is of another kind makes the count impossible.
 */

import { objectKey } from "../../../foundation/api/object.js";
import { controllerRefOf } from "../../../foundation/api/owner-references.js";
import type {
  DaemonSet,
  Deployment,
  Pod,
  PodDisruptionBudget,
  ReplicaSet,
  StatefulSet,
} from "../../../proto/gen/api.js";
import type { DeepReadonly, Lister } from "../../client/index.js";

type ReadonlyPod = DeepReadonly<Pod>;

export interface ScaleListers {
  replicaSets: Lister<ReplicaSet>;
  deployments: Lister<Deployment>;
  daemonSets: Lister<DaemonSet>;
  statefulSets: Lister<StatefulSet>;
}

export class ExpectedPodsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExpectedPodsError";
  }
}

export interface ExpectedPods {
  expected: number;
  desiredHealthy: number;
  /** Selected pods with no controller: counted by nobody when the expectation comes from scales. */
  unmanaged: string[];
}

/** The live object `ref` names in `namespace`, if it is still the same one (uid). */
function resolve<T>(
  lister: Lister<T>,
  namespace: string | undefined,
  ref: { name?: string; uid?: string } | undefined,
): DeepReadonly<T> | undefined {
  if (!ref) return undefined;
  const obj = lister.get(objectKey({ metadata: { namespace, name: ref.name } })) as
    | DeepReadonly<{ metadata: { uid?: string } }>
    | undefined;
  return obj && obj.metadata.uid === ref.uid ? (obj as DeepReadonly<T>) : undefined;
}

/** Sum of the scales of the controllers of `pods`, each controller counted once. */
function expectedScale(
  pods: readonly ReadonlyPod[],
  l: ScaleListers,
): { expected: number; unmanaged: string[] } {
  const scales = new Map<string, number>();
  const unmanaged: string[] = [];
  for (const pod of pods) {
    const ref = controllerRefOf(pod);
    const ns = pod.metadata.namespace;
    if (!ref) {
      unmanaged.push(pod.metadata.name ?? "");
      continue;
    }
    if (scales.has(ref.uid ?? "")) continue;
    if (ref.kind === "ReplicaSet") {
      const rs = resolve(l.replicaSets, ns, ref);
      const owner = rs ? controllerRefOf(rs) : undefined;
      const d = owner?.kind === "Deployment" ? resolve(l.deployments, ns, owner) : undefined;
      if (d) {
        scales.set(ref.uid ?? "", 0);
        scales.set(d.metadata.uid ?? "", d.spec?.replicas ?? 1);
        continue;
      }
      if (rs) {
        scales.set(ref.uid ?? "", rs.spec?.replicas ?? 1);
        continue;
      }
    }
    if (ref.kind === "StatefulSet") {
      const sts = resolve(l.statefulSets, ns, ref);
      if (sts) {
        scales.set(ref.uid ?? "", sts.spec?.replicas ?? 1);
        continue;
      }
    }
    if (ref.kind === "DaemonSet") {
      const ds = resolve(l.daemonSets, ns, ref);
      if (ds) {
        scales.set(ref.uid ?? "", ds.status?.desiredNumberScheduled ?? 0);
        continue;
      }
    }
    throw new ExpectedPodsError(`found no controllers for pod "${pod.metadata.name}"`);
  }
  let expected = 0;
  for (const n of scales.values()) expected += n;
  return { expected, unmanaged };
}

/** `value` of `total`: a number as is, "N%" rounded up. */
const scaled = (value: number | string, total: number): number =>
  typeof value === "number" ? value : Math.ceil((Number(value.slice(0, -1)) * total) / 100);

// maxUnavailable "25%" of a 10-replica Deployment: 3 may be down (rounded up), 7 must be healthy.
// minAvailable 2 with 3 selected pods: expected 3, 2 must be healthy.
export function expectedPods(
  pdb: DeepReadonly<PodDisruptionBudget>,
  pods: readonly ReadonlyPod[],
  l: ScaleListers,
): ExpectedPods {
  const spec = pdb.spec ?? {};
  if (spec.maxUnavailable !== undefined) {
    const { expected, unmanaged } = expectedScale(pods, l);
    return {
      expected,
      desiredHealthy: Math.max(0, expected - scaled(spec.maxUnavailable, expected)),
      unmanaged,
    };
  }
  if (typeof spec.minAvailable === "number")
    return { expected: pods.length, desiredHealthy: spec.minAvailable, unmanaged: [] };
  if (typeof spec.minAvailable === "string") {
    const { expected, unmanaged } = expectedScale(pods, l);
    return { expected, desiredHealthy: scaled(spec.minAvailable, expected), unmanaged };
  }
  return { expected: 0, desiredHealthy: 0, unmanaged: [] };
}
