/**
 * The node's set of pod workers, driven by the control plane's pod stream (`PodHost`): a worker per
 * pod uid, started on first sight, updated on change, stopped when the pod is deleted (gracefully,
 * then the pod object is finalized) or disappears from the node's set. After the first full set it
 * also removes what pods this node no longer has left behind (containers, sandbox, volumes, cgroup,
 * user namespace range, files), through the same hooks as any pod's teardown.
 */
import { logWarning } from "../../foundation/util/log.js";
import { tracer } from "../../foundation/util/trace.js";
import type { Pod } from "../../proto/gen/api.js";
import type { PodHost } from "../agent/node-link.js";
import { parseContainerId } from "./container-record.js";
import { PodWorker, type PodWorkerDeps } from "./pod-worker.js";

const trace = tracer("pod-manager");

export class PodManager implements PodHost {
  private readonly workers = new Map<string, PodWorker>();
  private cleanedOrphans = false;

  constructor(private readonly deps: PodWorkerDeps) {}

  /** The worker of a pod, by namespace and name (for logs and exec). */
  find(namespace: string, name: string): { worker: PodWorker; pod: Pod } | undefined {
    for (const w of this.workers.values()) {
      const pod = w.currentPod;
      if (pod.metadata.namespace === namespace && pod.metadata.name === name) return { worker: w, pod };
    }
    return undefined;
  }

  /** The pods that have a worker now (for the usage sampler). */
  pods(): Pod[] {
    return [...this.workers.values()].map((w) => w.currentPod);
  }

  sync(pods: Pod[]): void {
    const uids = new Set(pods.map((p) => p.metadata.uid ?? ""));
    for (const [uid, worker] of this.workers) {
      if (!uids.has(uid)) this.stopWorker(uid, worker, false);
    }
    for (const pod of pods) this.upsert(pod);
    if (!this.cleanedOrphans) {
      this.cleanedOrphans = true;
      void this.removeOrphans(uids).catch((err: unknown) => trace("orphan cleanup failed", String(err)));
    }
  }

  upsert(pod: Pod): void {
    const uid = pod.metadata.uid ?? "";
    const existing = this.workers.get(uid);
    if (existing) {
      existing.update(pod);
      return;
    }
    if (isFinished(pod) && !pod.metadata.deletionTimestamp) return;
    trace("new worker", pod.metadata.namespace, pod.metadata.name, uid);
    const worker = new PodWorker(pod, this.deps);
    this.workers.set(uid, worker);
    void worker.start().catch((err: unknown) => trace("worker start failed", uid, String(err)));
  }

  remove(pod: Pod): void {
    const uid = pod.metadata.uid ?? "";
    const worker = this.workers.get(uid);
    if (worker) this.stopWorker(uid, worker, false);
  }

  /** Kills every pod with no grace: the control plane may start them elsewhere soon (node-link.ts). */
  async fence(reason: string): Promise<void> {
    // Always logged: a fence is what an operator looks for when a host's pods vanished.
    logWarning("pod-manager", "fencing: killing every pod", reason);
    await Promise.all([...this.workers].map(([uid, w]) => this.stopWorker(uid, w, false, true)));
  }

  /** Stops every worker's loop and leaves the containers running, for the next agent to adopt. */
  detach(): void {
    for (const w of this.workers.values()) w.detach();
  }

  /** Stops every pod and removes its containers (uninstall and tests). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.workers].map(([uid, w]) => this.stopWorker(uid, w, false)));
  }

  private stopWorker(uid: string, worker: PodWorker, finalize: boolean, kill = false): Promise<void> {
    return worker
      .stop(finalize, kill)
      .catch((err: unknown) => trace("stopping pod failed", uid, String(err)))
      .finally(() => {
        if (this.workers.get(uid) === worker) this.workers.delete(uid);
      });
  }

  /**
   * Removes what pods this node no longer has left behind (containers, sandboxes, id ranges), each through a
   * worker of its own so the hooks' teardown removes everything, as for a pod stopped here.
   */
  private async removeOrphans(live: ReadonlySet<string>): Promise<void> {
    const ids = await this.deps.runtime.containerIds();
    const orphans = new Set(ids.map((id) => parseContainerId(id)?.podUID).filter((uid) => uid !== undefined));
    for (const uid of await this.deps.network.listSandboxes()) orphans.add(uid);
    for (const uid of await this.deps.security.userNamespaces.holders()) orphans.add(uid);
    for (const uid of orphans) {
      if (live.has(uid) || this.workers.has(uid)) continue;
      trace("removing orphan pod", uid);
      const leftover: Pod = { apiVersion: "v1", kind: "Pod", metadata: { uid, name: "", namespace: "" } };
      await new PodWorker(leftover, this.deps).stop(false).catch(() => undefined);
    }
  }
}

function isFinished(pod: Pod): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
}
