/**
 * What the scheduler needs from a Pod, computed once per pod version instead of once per node:
 * resource requests as numbers, the controller that owns it, its compiled node-affinity matcher and
 * its compiled anti-affinity terms. Everything here is derived; the Pod itself stays frozen.
 */

import { objectKey } from "../../foundation/api/object.js";
import { quantityIntValue, quantityMilliValue } from "../../foundation/api/quantity.js";
import type { DeepReadonly } from "../../foundation/api/readonly.js";
import type { Container, Pod, PodSpec, Toleration } from "../../proto/gen/api.js";
import { compileNodeAffinity, type NodeMatcher } from "../client/node-affinity.js";
import { type AntiAffinityTerm, compileAntiAffinityTerms } from "./anti-affinity-terms.js";

export const defaultSchedulerName = "default-scheduler";

/** Kubernetes' non-zero defaults for scoring pods that request nothing (not used for fit). */
export const defaultMilliCpuRequest = 100;
export const defaultMemoryRequest = 200 * 1024 * 1024;

export interface Requests {
  milliCpu: number;
  memory: number;
}

export interface PodInfo {
  readonly key: string;
  readonly pod: DeepReadonly<Pod>;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly priority: number;
  /** Requests used for fit: max(max(init containers), sum(containers)) per resource. */
  readonly requests: Requests;
  /** Requests with Kubernetes' defaults for unset values, used by the least-allocated score. */
  readonly nonZeroRequests: Requests;
  /** uid of the ownerReference with `controller: true`, or "" when none. */
  readonly controllerUid: string;
  readonly tolerations: readonly DeepReadonly<Toleration>[];
  /** nodeSelector and required node affinity together; undefined when the pod sets neither. */
  readonly nodeMatcher: NodeMatcher | undefined;
  readonly antiAffinity: readonly AntiAffinityTerm[];
}

export function podInfo(pod: DeepReadonly<Pod>): PodInfo {
  const spec = pod.spec ?? {};
  const requests = podRequests(spec, false);
  return {
    key: objectKey(pod),
    pod,
    namespace: pod.metadata.namespace ?? "",
    labels: pod.metadata.labels ?? {},
    priority: spec.priority ?? 0,
    requests,
    nonZeroRequests: podRequests(spec, true),
    controllerUid: pod.metadata.ownerReferences?.find((r) => r.controller)?.uid ?? "",
    tolerations: spec.tolerations ?? [],
    nodeMatcher: compileNodeAffinity(spec.nodeSelector, spec.affinity?.nodeAffinity),
    antiAffinity: compileAntiAffinityTerms(pod),
  };
}

/**
 * Init containers run one at a time before the app containers, so a pod needs the larger of its
 * biggest init container and the sum of its containers:
 * init [2 cpu, 1 cpu], containers [500m, 500m] → max(2, 1) vs 1 → 2 cpu.
 */
function podRequests(spec: DeepReadonly<PodSpec>, nonZero: boolean): Requests {
  const sum = { milliCpu: 0, memory: 0 };
  (spec.containers ?? []).forEach((c, i) => {
    const r = containerRequests(c, `spec.containers[${i}]`, nonZero);
    sum.milliCpu += r.milliCpu;
    sum.memory += r.memory;
  });
  (spec.initContainers ?? []).forEach((c, i) => {
    const r = containerRequests(c, `spec.initContainers[${i}]`, nonZero);
    sum.milliCpu = Math.max(sum.milliCpu, r.milliCpu);
    sum.memory = Math.max(sum.memory, r.memory);
  });
  return sum;
}

function containerRequests(c: DeepReadonly<Container>, path: string, nonZero: boolean): Requests {
  const req = c.resources?.requests;
  return {
    milliCpu: request(
      req?.cpu,
      `${path}.resources.requests.cpu`,
      quantityMilliValue,
      nonZero ? defaultMilliCpuRequest : 0,
    ),
    memory: request(
      req?.memory,
      `${path}.resources.requests.memory`,
      quantityIntValue,
      nonZero ? defaultMemoryRequest : 0,
    ),
  };
}

function request(
  value: string | undefined,
  path: string,
  parse: (q: string) => number,
  unset: number,
): number {
  if (value === undefined) return unset;
  try {
    return parse(value);
  } catch (err) {
    throw new InvalidPodError(`${path}: ${(err as Error).message}`);
  }
}

/** A pod the scheduler cannot reason about (the apiserver should have refused it); names the field. */
export class InvalidPodError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidPodError";
  }
}

/** Succeeded or Failed pods hold no resources and are never scheduled. */
export function isTerminal(pod: DeepReadonly<Pod>): boolean {
  const phase = pod.status?.phase;
  return phase === "Succeeded" || phase === "Failed";
}

/** This scheduler handles pods naming it, or naming no scheduler at all. */
export function wantsScheduler(pod: DeepReadonly<Pod>, schedulerName: string): boolean {
  return (pod.spec?.schedulerName || defaultSchedulerName) === schedulerName;
}
