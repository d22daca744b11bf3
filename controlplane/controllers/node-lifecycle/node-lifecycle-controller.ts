/**
 * The node lifecycle controller with its NoExecute taint manager, keyed by node name. One
 * `sync(name)`:
 *
 * 1. judges the node by its heartbeat Lease (`kube-node-lease/<name>`): silent for longer than the
 *    grace period (counted from this controller's start at the earliest, so a control plane that
 *    was down does not condemn every node at once) → every condition Unknown (NodeStatusUnknown);
 * 2. marks the pods of a silent node not Ready (upstream's MarkPodsNotReady), so that Services stop
 *    sending them traffic at the grace period rather than when they are evicted; their agent sets
 *    Ready again if it is heard from before that;
 * 3. makes the health taints follow the Ready condition (Unknown → `unreachable`, False →
 *    `not-ready`, True → none; NoSchedule and NoExecute each), and `unschedulable:NoSchedule`
 *    follow `spec.unschedulable` (cordon), keeping other taints;
 * 4. evicts the node's pods whose tolerations of its NoExecute taints have run out, deleting them
 *    with a TaintManagerEviction event. While the node is silent its agent cannot finish a graceful
 *    deletion, so evictions (and deletions already pending there) are forced with a zero grace
 *    period; on a node that is merely NotReady they are graceful. A pod that asks for at most one
 *    copy (api/at-most-one.ts) is forced no earlier than grace + eviction after the node's last
 *    renewal, read afresh from the API, whatever its own tolerations: by then its agent has
 *    fenced it.
 *
 * When every node is silent at once it taints them but holds evictions, as Kubernetes does in its
 * full disruption mode. It then asks to be woken at the next deadline (a lease about to expire, a toleration about to run
 * out) instead of polling. Writes carry the cached resourceVersion or the pod's uid as precondition.
 */

import { asksAtMostOne } from "../../../foundation/api/at-most-one.js";
import { isApiError } from "../../../foundation/api/errors.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import type { Clock } from "../../../foundation/util/clock.js";
import { rfc3339 } from "../../../foundation/util/time.js";
import { tracer } from "../../../foundation/util/trace.js";
import type { Lease, Node, Pod, Taint } from "../../../proto/gen/api.js";
import type { ControllerClient, ControllerDeleteOptions } from "../../client/controller-client.js";
import type { EventRecorder } from "../../client/events.js";
import {
  byNodeNameIndex,
  type DeepReadonly,
  type EventHandler,
  type Lister,
  type WorkQueue,
} from "../../client/index.js";
import { lastRenewal, readyStatus, sameTaints, silentNodeConditions, taintsFor } from "./node-health.js";
import { defaultTolerationSeconds, evictionTime } from "./taint-eviction.js";

const trace = tracer("node-lifecycle");

export const nodesResource = resourceForKind("v1", "Node")!;
export const podsResource = resourceForKind("v1", "Pod")!;
export const leasesResource = resourceForKind("coordination.k8s.io/v1", "Lease")!;

/** Kubernetes' namespace of node heartbeat Leases, one per node, named after it. */
export const defaultLeaseNamespace = "kube-node-lease";
/** Kubernetes' node-monitor-grace-period. */
export const defaultNodeGracePeriodMs = 40_000;

/**
 * Delete options of an eviction. `gracePeriodSeconds: 0` forces the deletion (as the Registry's
 * `DeleteOptions.gracePeriodSeconds`); the ControllerClient must pass it through.
 */
export type EvictionDeleteOptions = ControllerDeleteOptions;

export interface NodeLifecycleControllerOptions {
  nodes: Lister<Node>;
  /** Lease cache; only Leases in `leaseNamespace` are read. */
  leases: Lister<Lease>;
  /** Pod cache with the `byNodeName` index (client/indexers.ts). */
  pods: Lister<Pod>;
  client: ControllerClient;
  recorder: EventRecorder;
  clock: Clock;
  queue: Pick<WorkQueue, "add" | "addAfter">;
  leaseNamespace?: string;
  /** How long a lease may go unrenewed before the node is Unknown. Default 40 s. */
  gracePeriodMs?: number;
  /** tolerationSeconds of the defaulted not-ready/unreachable tolerations. Default 300. */
  defaultTolerationSeconds?: number;
}

export class NodeLifecycleController {
  private readonly opts: NodeLifecycleControllerOptions;
  private readonly leaseNamespace: string;
  private readonly graceMs: number;
  private readonly tolerationSeconds: number;
  /** Nodes are given the grace period from here at least: silence before we watched is not evidence. */
  private readonly startedAt: number;

  constructor(opts: NodeLifecycleControllerOptions) {
    this.opts = opts;
    this.leaseNamespace = opts.leaseNamespace ?? defaultLeaseNamespace;
    this.graceMs = opts.gracePeriodMs ?? defaultNodeGracePeriodMs;
    this.tolerationSeconds = opts.defaultTolerationSeconds ?? defaultTolerationSeconds;
    this.startedAt = opts.clock.now();
  }

  readonly nodeHandler: EventHandler<Node> = {
    onAdd: (node) => this.enqueue(node.metadata.name),
    onUpdate: (_old, node) => this.enqueue(node.metadata.name),
  };

  readonly leaseHandler: EventHandler<Lease> = {
    onAdd: (lease) => this.enqueueLease(lease),
    onUpdate: (_old, lease) => this.enqueueLease(lease),
    onDelete: (lease) => this.enqueueLease(lease),
  };

  readonly podHandler: EventHandler<Pod> = {
    onAdd: (pod) => this.enqueue(pod.spec?.nodeName),
    onUpdate: (old, pod) => {
      if (
        old.spec?.nodeName !== pod.spec?.nodeName ||
        old.metadata.deletionTimestamp !== pod.metadata.deletionTimestamp ||
        JSON.stringify(old.spec?.tolerations) !== JSON.stringify(pod.spec?.tolerations)
      ) {
        this.enqueue(pod.spec?.nodeName);
      }
    },
  };

  /** Reconciles the node `name`. Throws (to be retried) when a write fails. */
  async sync(name: string): Promise<void> {
    const cached = this.opts.nodes.get(name);
    if (!cached) return;
    const now = this.opts.clock.now();
    const nowText = rfc3339(now);
    const heardFrom = this.heardFrom(cached);
    const silent = now - heardFrom > this.graceMs;

    let node: DeepReadonly<Node> = cached;
    if (silent) {
      node = await this.markSilent(node, nowText);
      await this.markPodsNotReady(name, nowText);
    }
    node = await this.syncTaints(node, nowText);
    const wake: number[] = [];
    if (!silent) wake.push(heardFrom + this.graceMs + 1);
    if (silent && this.allNodesSilent(now)) {
      // Every node silent at once is more likely our own network than every agent dying: evicting
      // would empty the cluster. Hold evictions (Kubernetes' full disruption mode) and look again.
      trace(`${name}: every node is silent; holding evictions`);
      wake.push(now + this.graceMs);
    } else {
      const nextEviction = await this.evictPods(node, silent, now);
      if (nextEviction !== undefined) wake.push(nextEviction);
    }
    if (wake.length > 0) this.opts.queue.addAfter(name, Math.max(1, Math.min(...wake) - now));
  }

  /** When the node's agent last proved alive: its lease renewal, else its creation; never before our start. */
  private heardFrom(node: DeepReadonly<Node>): number {
    const lease = this.opts.leases.get(`${this.leaseNamespace}/${node.metadata.name}`);
    const created = Date.parse(node.metadata.creationTimestamp ?? "");
    return Math.max(lastRenewal(lease) ?? (Number.isNaN(created) ? 0 : created), this.startedAt);
  }

  /** When a node last heard from at `heardFrom` has certainly fenced its pods: grace + eviction later. */
  private fencedBy(heardFrom: number): number {
    return heardFrom + this.graceMs + this.tolerationSeconds * 1000;
  }

  /** `heardFrom` with the node's Lease read from the API rather than the cache. */
  private async freshHeardFrom(node: DeepReadonly<Node>): Promise<number> {
    const name = node.metadata.name ?? "";
    try {
      const lease = await this.opts.client.get<Lease>(leasesResource, this.leaseNamespace, name);
      return Math.max(this.heardFrom(node), lastRenewal(lease) ?? 0);
    } catch (err) {
      if (isApiError(err, "NotFound")) return this.heardFrom(node);
      throw err;
    }
  }

  private allNodesSilent(now: number): boolean {
    return this.opts.nodes.list().every((n) => now - this.heardFrom(n) > this.graceMs);
  }

  private async markSilent(node: DeepReadonly<Node>, now: string): Promise<DeepReadonly<Node>> {
    const conditions = silentNodeConditions(node.status?.conditions ?? [], now);
    if (JSON.stringify(conditions) === JSON.stringify(node.status?.conditions ?? [])) return node;
    const name = node.metadata.name ?? "";
    trace(`${name}: lease not renewed within ${this.graceMs} ms, marking its conditions Unknown`);
    const next = structuredClone(node) as Node;
    next.status = { ...next.status, conditions };
    const written = await this.opts.client.updateStatus(nodesResource, next);
    this.opts.recorder.event(node, "Normal", "NodeNotReady", `Node ${name} status is now: NodeNotReady`);
    return written;
  }

  /** The node's pods that are Ready become not Ready; the agent of a node heard from again says otherwise. */
  private async markPodsNotReady(nodeName: string, now: string): Promise<void> {
    for (const cached of this.opts.pods.byIndex(byNodeNameIndex, nodeName)) {
      let pod: DeepReadonly<Pod> | undefined = cached;
      // One retry on a Conflict, from a fresh read: the pod's own writers may have moved it on.
      for (let attempt = 0; pod && isReady(pod); attempt++) {
        try {
          await this.opts.client.updateStatus(podsResource, notReady(pod, now));
          this.opts.recorder.event(pod, "Warning", "NodeNotReady", "Node is not ready");
          break;
        } catch (err) {
          if (isApiError(err, "NotFound")) break;
          if (!isApiError(err, "Conflict") || attempt > 0) throw err;
          const namespace: string = pod.metadata.namespace ?? "";
          const name: string = pod.metadata.name ?? "";
          pod = await this.opts.client.get<Pod>(podsResource, namespace, name).catch((e: unknown) => {
            if (isApiError(e, "NotFound")) return undefined;
            throw e;
          });
        }
      }
    }
  }

  private async syncTaints(node: DeepReadonly<Node>, now: string): Promise<DeepReadonly<Node>> {
    const current = node.spec?.taints ?? [];
    const taints = taintsFor(current, readyStatus(node), node.spec?.unschedulable ?? false, now);
    if (sameTaints(taints, current)) return node;
    trace(`${node.metadata.name}: taints ${JSON.stringify(taints)}`);
    return this.opts.client.patch<Node>(nodesResource, "", node.metadata.name ?? "", {
      metadata: { resourceVersion: node.metadata.resourceVersion },
      spec: { taints: taints.length > 0 ? taints : null },
    });
  }

  /** Deletes the pods whose time is up; returns the next time one will be, if any. */
  private async evictPods(
    node: DeepReadonly<Node>,
    silent: boolean,
    now: number,
  ): Promise<number | undefined> {
    const noExecute: DeepReadonly<Taint>[] = (node.spec?.taints ?? []).filter(
      (t) => t.effect === "NoExecute",
    );
    if (noExecute.length === 0) return undefined;
    let next: number | undefined;
    let fenced: number | undefined;
    for (const pod of this.opts.pods.byIndex(byNodeNameIndex, node.metadata.name ?? "")) {
      // A pod already terminating on a live node is its agent's to finish.
      if (pod.metadata.deletionTimestamp && !silent) continue;
      let at = evictionTime(pod, noExecute, this.tolerationSeconds, now);
      if (at === undefined) continue;
      if (silent && asksAtMostOne(pod)) {
        at = Math.max(at, this.fencedBy(this.heardFrom(node)));
        // The cache may lag a renewal that just landed; ask once per sync before forcing.
        if (at <= now) {
          fenced ??= this.fencedBy(await this.freshHeardFrom(node));
          at = Math.max(at, fenced);
        }
      }
      if (at > now) {
        next = next === undefined ? at : Math.min(next, at);
        continue;
      }
      await this.evict(pod, silent);
    }
    return next;
  }

  private async evict(pod: DeepReadonly<Pod>, force: boolean): Promise<void> {
    const { namespace = "", name = "", uid } = pod.metadata;
    const opts: EvictionDeleteOptions = {
      ...(uid ? { uid } : {}),
      ...(force ? { gracePeriodSeconds: 0 } : {}),
    };
    try {
      await this.opts.client.delete(podsResource, namespace, name, opts);
    } catch (err) {
      // Gone already, or replaced by a new pod (another uid) that is judged on its own.
      if (isApiError(err, "NotFound") || isApiError(err, "Conflict")) return;
      throw err;
    }
    trace(`evicted ${namespace}/${name} from ${pod.spec?.nodeName}${force ? " (forced)" : ""}`);
    this.opts.recorder.event(
      pod,
      "Normal",
      "TaintManagerEviction",
      `Marking for deletion Pod ${namespace}/${name}`,
    );
  }

  private enqueue(name: string | undefined): void {
    if (name) this.opts.queue.add(name);
  }

  private enqueueLease(lease: DeepReadonly<Lease>): void {
    if (lease.metadata.namespace === this.leaseNamespace) this.enqueue(lease.metadata.name);
  }
}

const isReady = (pod: DeepReadonly<Pod>) =>
  pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/** `pod` with its Ready condition False since `now`, as upstream's MarkPodsNotReady writes it. */
function notReady(pod: DeepReadonly<Pod>, now: string): Pod {
  const next = structuredClone(pod) as Pod;
  next.status = {
    ...next.status,
    conditions: (next.status?.conditions ?? []).map((c) =>
      c.type === "Ready" ? { ...c, status: "False", lastTransitionTime: now } : c,
    ),
  };
  return next;
}
