/**
 * The disruption controller: keeps each PodDisruptionBudget's status (how many of its pods are
 * healthy, how many must be, how many may be disrupted now) so the eviction subresource can judge
 * evictions. One `sync(key)` reads the budget, its pods and their controllers' scales from the
 * informer caches and writes status; it never deletes or evicts anything.
 */

import { isApiError } from "../../../foundation/api/errors.js";
import {
  formatSelector,
  matchesSelector,
  type Selector,
  selectorFromLabelSelector,
} from "../../../foundation/api/labels.js";
import { objectKey } from "../../../foundation/api/object.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import type { Clock } from "../../../foundation/util/clock.js";
import type {
  DaemonSet,
  Deployment,
  Pod,
  PodDisruptionBudget,
  PodDisruptionBudgetStatus,
  ReplicaSet,
  StatefulSet,
} from "../../../proto/gen/api.js";
import type { ControllerClient } from "../../client/controller-client.js";
import type { EventRecorder } from "../../client/events.js";
import { type DeepReadonly, type EventHandler, type Lister, splitKey } from "../../client/index.js";
import type { KeyQueue } from "../replicaset/index.js";
import { ExpectedPodsError, expectedPods } from "./expected-pods.js";
import {
  budgetStatus,
  countHealthy,
  disruptedPods,
  disruptionAllowedCondition,
  sameStatus,
} from "./status.js";

export const podDisruptionBudgetsResource = resourceForKind("policy/v1", "PodDisruptionBudget")!;

type ReadonlyBudget = DeepReadonly<PodDisruptionBudget>;
type ReadonlyPod = DeepReadonly<Pod>;

export interface DisruptionControllerOptions {
  budgets: Lister<PodDisruptionBudget>;
  pods: Lister<Pod>;
  replicaSets: Lister<ReplicaSet>;
  deployments: Lister<Deployment>;
  daemonSets: Lister<DaemonSet>;
  statefulSets: Lister<StatefulSet>;
  client: ControllerClient;
  recorder: EventRecorder;
  clock: Clock;
  queue: KeyQueue;
}

/** The selector of `pdb`, or undefined for none or an unparsable one: then it selects no pod (policy/v1). */
function selectorOf(pdb: ReadonlyBudget): Selector | undefined {
  if (!pdb.spec?.selector) return undefined;
  try {
    return selectorFromLabelSelector(pdb.spec.selector);
  } catch {
    return undefined;
  }
}

export class DisruptionController {
  constructor(private readonly o: DisruptionControllerOptions) {}

  readonly budgetHandler: EventHandler<PodDisruptionBudget> = {
    onAdd: (pdb) => this.o.queue.add(objectKey(pdb)),
    onUpdate: (_old, pdb) => this.o.queue.add(objectKey(pdb)),
    onDelete: (pdb) => this.o.queue.add(objectKey(pdb)),
  };

  readonly podHandler: EventHandler<Pod> = {
    onAdd: (pod) => this.enqueueBudgetsOf(pod),
    onUpdate: (old, pod) => {
      if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
      this.enqueueBudgetsOf(old);
      this.enqueueBudgetsOf(pod);
    },
    onDelete: (pod) => this.enqueueBudgetsOf(pod),
  };

  /** Recomputes the status of the budget under `key`. Throws to be retried with backoff. */
  async sync(key: string): Promise<void> {
    const pdb = this.o.budgets.get(key);
    if (!pdb) return;
    const { namespace } = splitKey(key);
    const selector = selectorOf(pdb);
    const pods = selector
      ? this.o.pods
          .list()
          .filter((p) => p.metadata.namespace === namespace && matchesSelector(selector, p.metadata.labels))
      : [];
    if (pods.length === 0) this.o.recorder.event(pdb, "Normal", "NoPods", "No matching pods found");
    const now = this.o.clock.now();
    let counts: ReturnType<typeof expectedPods>;
    try {
      counts = expectedPods(pdb, pods, this.o);
    } catch (err) {
      if (!(err instanceof ExpectedPodsError)) throw err;
      this.o.recorder.event(
        pdb,
        "Warning",
        "CalculateExpectedPodCountFailed",
        `Failed to calculate the number of expected pods: ${err.message}`,
      );
      return this.failSafe(pdb, err.message, now);
    }
    if (counts.unmanaged.length > 0 && selector) {
      this.o.recorder.event(
        pdb,
        "Warning",
        "UnmanagedPods",
        `Pods selected by this PodDisruptionBudget (selector: ${formatSelector(selector)}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.`,
      );
    }
    const disrupted = disruptedPods(pdb, pods, now);
    for (const name of disrupted.expired) {
      this.o.recorder.event(
        pdb,
        "Warning",
        "NotDeleted",
        `Pod ${namespace}/${name} was expected by PDB ${key} to be deleted but it wasn't`,
      );
    }
    const status = budgetStatus(
      pdb,
      {
        currentHealthy: countHealthy(pods, disrupted.pods),
        desiredHealthy: counts.desiredHealthy,
        expected: counts.expected,
      },
      disrupted.pods,
      now,
    );
    if (!sameStatus(pdb.status, status)) await this.writeStatus(pdb, status);
    if (disrupted.recheckInMs !== undefined) this.o.queue.addAfter(key, disrupted.recheckInMs);
  }

  /** What a budget says when its counts cannot be known: no disruption allowed. */
  private async failSafe(pdb: ReadonlyBudget, message: string, now: number): Promise<void> {
    const status: PodDisruptionBudgetStatus = {
      ...(structuredClone(pdb.status ?? {}) as PodDisruptionBudgetStatus),
      disruptionsAllowed: 0,
      observedGeneration: pdb.metadata.generation ?? 0,
      conditions: [disruptionAllowedCondition(pdb, "False", "SyncFailed", message, now)],
    };
    if (!sameStatus(pdb.status, status)) await this.writeStatus(pdb, status);
  }

  /** A Conflict (an eviction took a disruption meanwhile) fails the sync: it reruns on fresh state. */
  private async writeStatus(pdb: ReadonlyBudget, status: PodDisruptionBudgetStatus): Promise<void> {
    const copy = structuredClone(pdb) as PodDisruptionBudget;
    copy.status = status;
    try {
      await this.o.client.updateStatus(podDisruptionBudgetsResource, copy);
    } catch (err) {
      if (isApiError(err, "NotFound")) return;
      throw err;
    }
  }

  private enqueueBudgetsOf(pod: ReadonlyPod): void {
    for (const pdb of this.o.budgets.list()) {
      if (pdb.metadata.namespace !== pod.metadata.namespace) continue;
      const selector = selectorOf(pdb);
      if (selector && matchesSelector(selector, pod.metadata.labels)) this.o.queue.add(objectKey(pdb));
    }
  }
}
