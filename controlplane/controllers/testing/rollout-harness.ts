/**
 * A deterministic, timer-free world for Deployment unit tests: the Deployment and ReplicaSet
 * controllers over one FakeCluster, each with its own recorded queue, plus a scripted stand-in for
 * scheduler and node agents that binds, starts and readies pods one change at a time. `settle()`
 * runs controllers until they are idle, then lets the stand-in make one change, and so on, so every
 * intermediate state is visited (and `FakeCluster.afterChange` can check invariants on each).
 */

import { isApiError } from "../../../foundation/api/errors.js";
import { rfc3339 } from "../../../foundation/util/time.js";
import type { Deployment, Pod, ReplicaSet } from "../../../proto/gen/api.js";
import { DeploymentController } from "../deployment/controller.js";
import { deploymentsResource } from "../deployment/sync.js";
import { podsResource, ReplicaSetController, replicaSetsResource } from "../replicaset/controller.js";
import { FakeCluster } from "./fake-cluster.js";

class KeySet {
  readonly keys: string[] = [];
  add(key: string): void {
    if (!this.keys.includes(key)) this.keys.push(key);
  }
  take(): string | undefined {
    return this.keys.shift();
  }
}

export interface HarnessOptions {
  /** Whether a pod passes its readiness probe; default every pod. */
  healthy?: (pod: Pod) => boolean;
  /** Clock step per agent change (ms); default 1000. */
  tickMs?: number;
}

export class RolloutHarness {
  readonly cluster = new FakeCluster({ autoFlush: true, gracefulPodDeletion: true });
  readonly deployments: DeploymentController;
  readonly replicaSets: ReplicaSetController;
  /** Sync errors other than Conflict (which a real queue simply retries). */
  readonly errors: unknown[] = [];
  healthy: (pod: Pod) => boolean;
  private readonly tickMs: number;
  private readonly dKeys = new KeySet();
  private readonly rsKeys = new KeySet();

  constructor(opts: HarnessOptions = {}) {
    this.healthy = opts.healthy ?? (() => true);
    this.tickMs = opts.tickMs ?? 1000;
    const c = this.cluster;
    const queue = (keys: KeySet) => ({
      add: (key: string) => keys.add(key),
      addAfter: (key: string, ms: number) => void c.clock.setTimer(ms, () => keys.add(key)),
    });
    this.deployments = new DeploymentController({
      deployments: c.lister<Deployment>(deploymentsResource),
      replicaSets: c.lister<ReplicaSet>(replicaSetsResource),
      pods: c.lister<Pod>(podsResource),
      client: c.client,
      recorder: c.recorder,
      clock: c.clock,
      queue: queue(this.dKeys),
    });
    this.replicaSets = new ReplicaSetController({
      pods: c.lister<Pod>(podsResource),
      replicaSets: c.lister<ReplicaSet>(replicaSetsResource),
      client: c.client,
      recorder: c.recorder,
      clock: c.clock,
      queue: queue(this.rsKeys),
    });
    c.addHandler(deploymentsResource, this.deployments.deploymentHandler);
    c.addHandler(replicaSetsResource, this.deployments.replicaSetHandler);
    c.addHandler(podsResource, this.deployments.podHandler);
    c.addHandler(replicaSetsResource, this.replicaSets.replicaSetHandler);
    c.addHandler(podsResource, this.replicaSets.podHandler);
  }

  /** Runs queued syncs (Deployments first) until both queues are empty; returns how many ran. */
  async drain(limit = 500): Promise<number> {
    let n = 0;
    for (; n < limit; n++) {
      const dKey = this.dKeys.take();
      const rsKey = dKey === undefined ? this.rsKeys.take() : undefined;
      if (dKey === undefined && rsKey === undefined) return n;
      try {
        if (dKey !== undefined) await this.deployments.sync(dKey);
        else await this.replicaSets.sync(rsKey!);
      } catch (err) {
        if (!isApiError(err, "Conflict")) this.errors.push(err);
        if (dKey !== undefined) this.dKeys.add(dKey);
        else this.rsKeys.add(rsKey!);
      }
    }
    throw new Error(`controllers did not settle within ${limit} syncs`);
  }

  /**
   * One change a scheduler or node agent would make, to the first pod needing one: finish a
   * terminating pod, bind and start an unbound one, or mark a healthy one Ready. False when none.
   */
  agentStep(): boolean {
    const c = this.cluster;
    const pods = c
      .storedList<Pod>(podsResource)
      .sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
    const now = rfc3339(c.clock.now());
    for (const pod of pods) {
      const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
      if (pod.metadata.deletionTimestamp) {
        c.finishTermination(podsResource, key);
        return true;
      }
      if (!pod.spec?.nodeName) {
        c.mutate<Pod>(podsResource, key, (p) => {
          p.spec!.nodeName = "node-1";
          p.status = {
            phase: "Running",
            conditions: [{ type: "Ready", status: "False", lastTransitionTime: now }],
          };
        });
        return true;
      }
      const ready = pod.status?.conditions?.find((x) => x.type === "Ready")?.status === "True";
      if (!ready && this.healthy(pod)) {
        c.mutate<Pod>(podsResource, key, (p) => {
          p.status!.conditions = [{ type: "Ready", status: "True", lastTransitionTime: now }];
        });
        return true;
      }
    }
    return false;
  }

  /**
   * Alternates draining the controllers and single agent steps (advancing the clock a tick each)
   * until nothing changes; waits out timers (minReadySeconds, deadlines) up to `maxIdleMs`.
   */
  async settle(maxIdleMs = 0): Promise<void> {
    let idle = 0;
    for (let round = 0; round < 2000; round++) {
      await this.drain();
      this.cluster.clock.advance(this.tickMs);
      if (this.agentStep()) {
        idle = 0;
        continue;
      }
      const timers = this.cluster.clock.pendingTimers();
      idle += this.tickMs;
      if ((timers === 0 && this.dKeys.keys.length + this.rsKeys.keys.length === 0) || idle > maxIdleMs) {
        await this.drain();
        return;
      }
    }
    throw new Error("rollout did not settle within 2000 rounds");
  }

  /** Applies a user's change to the stored Deployment (like `kctl apply`/`edit`). */
  editDeployment(name: string, change: (d: Deployment) => void): Deployment {
    return this.cluster.mutate<Deployment>(deploymentsResource, `default/${name}`, change);
  }

  deployment(name: string): Deployment {
    return this.cluster.stored<Deployment>(deploymentsResource, `default/${name}`)!;
  }

  replicaSetsOf(name: string): ReplicaSet[] {
    const uid = this.deployment(name).metadata.uid;
    return this.cluster
      .storedList<ReplicaSet>(replicaSetsResource)
      .filter((rs) => rs.metadata.ownerReferences?.some((r) => r.uid === uid));
  }

  /** Active (not terminating) pods of the Deployment's ReplicaSets. */
  podsOf(name: string): Pod[] {
    const uids = new Set(this.replicaSetsOf(name).map((rs) => rs.metadata.uid));
    return this.cluster
      .storedList<Pod>(podsResource)
      .filter(
        (p) => !p.metadata.deletionTimestamp && p.metadata.ownerReferences?.some((r) => uids.has(r.uid)),
      );
  }
}
