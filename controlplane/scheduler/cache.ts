/**
 * The scheduler's view of the cluster: a NodeInfo per node and every pod placed on a node, either
 * bound (seen with spec.nodeName from the informer) or assumed (this scheduler decided and the
 * binding is in flight). Assuming lets back-to-back decisions see earlier ones before the watch
 * confirms them, like kube-scheduler's assume cache; an assumed pod whose binding finished but never
 * shows up bound expires after `assumedTtlMs`.
 */
import type { Node } from "../../proto/gen/api.js";
import type { DeepReadonly } from "../controllers/machinery/readonly.js";
import type { Clock } from "../util/clock.js";
import { NodeInfo } from "./node-info.js";
import type { PodInfo } from "./pod-info.js";

interface PlacedPod {
  info: PodInfo;
  nodeName: string;
  assumed: boolean;
  /** For an assumed pod whose binding call returned: drop it if still unconfirmed at this time. */
  expiresAt?: number;
}

export class SchedulerCache {
  private readonly nodeInfos = new Map<string, NodeInfo>();
  private nodeArray: NodeInfo[] | undefined;
  private readonly placed = new Map<string, PlacedPod>();
  /** Placed pods that carry required anti-affinity terms (checked against every incoming pod). */
  private readonly antiAffinityPods = new Map<string, PlacedPod>();
  private readonly expiring = new Set<string>();
  /** Controller uid → nodes running its pods → how many; the spreading score reads only these. */
  private readonly controllerNodes = new Map<string, Map<NodeInfo, number>>();

  constructor(
    private readonly clock: Clock,
    private readonly assumedTtlMs = 30_000,
  ) {}

  /** Nodes with a Node object, in a stable order (rebuilt only when nodes come or go). */
  nodes(): readonly NodeInfo[] {
    if (!this.nodeArray) this.nodeArray = [...this.nodeInfos.values()].filter((n) => n.node !== undefined);
    return this.nodeArray;
  }

  node(name: string): NodeInfo | undefined {
    const n = this.nodeInfos.get(name);
    return n?.node ? n : undefined;
  }

  /** Adds or updates a Node; returns true when something scheduling depends on changed. */
  setNode(node: DeepReadonly<Node>): boolean {
    const name = node.metadata.name ?? "";
    let info = this.nodeInfos.get(name);
    if (!info) {
      info = new NodeInfo(name);
      this.nodeInfos.set(name, info);
    }
    const hadNode = info.node !== undefined;
    const before = info.fingerprint;
    info.setNode(node);
    if (!hadNode) this.nodeArray = undefined;
    return !hadNode || before !== info.fingerprint;
  }

  removeNode(name: string): void {
    const info = this.nodeInfos.get(name);
    if (!info) return;
    // Pods still naming the node keep their NodeInfo so their accounting survives a Node re-create.
    if (info.pods.size > 0) {
      info.node = undefined;
      info.fingerprint = "";
    } else {
      this.nodeInfos.delete(name);
    }
    this.nodeArray = undefined;
  }

  /** Records a pod seen bound to `nodeName`, confirming it if it was assumed. */
  addBoundPod(info: PodInfo, nodeName: string): void {
    this.place(info, nodeName, false);
  }

  /** Places a pod this scheduler just decided on, before the binding is confirmed. */
  assume(info: PodInfo, nodeName: string): void {
    this.place(info, nodeName, true);
  }

  /** The binding call returned: start the clock on waiting for the watch to confirm it. */
  finishBinding(key: string): void {
    const p = this.placed.get(key);
    if (!p?.assumed) return;
    p.expiresAt = this.clock.now() + this.assumedTtlMs;
    this.expiring.add(key);
  }

  /** Drops an assumed pod whose binding failed. Bound pods are left alone. */
  forget(key: string): void {
    if (this.placed.get(key)?.assumed) this.removePod(key);
  }

  removePod(key: string): void {
    const p = this.placed.get(key);
    if (!p) return;
    this.placed.delete(key);
    this.antiAffinityPods.delete(key);
    this.expiring.delete(key);
    const node = this.nodeInfos.get(p.nodeName);
    if (!node) return;
    node.removePod(key);
    this.countController(p.info.controllerUid, node, -1);
    if (!node.node && node.pods.size === 0) this.nodeInfos.delete(p.nodeName);
  }

  isPlaced(key: string): boolean {
    return this.placed.has(key);
  }

  isAssumed(key: string): boolean {
    return this.placed.get(key)?.assumed ?? false;
  }

  /** Drops assumed pods whose confirmation is overdue; returns their keys. */
  expireAssumed(): string[] {
    if (this.expiring.size === 0) return [];
    const now = this.clock.now();
    const expired: string[] = [];
    for (const key of this.expiring) {
      const p = this.placed.get(key);
      if (p?.expiresAt !== undefined && p.expiresAt <= now) expired.push(key);
    }
    for (const key of expired) this.removePod(key);
    return expired;
  }

  /** Every placed pod with required anti-affinity terms, with the node it is on. */
  podsWithAntiAffinity(): Iterable<{ info: PodInfo; nodeName: string }> {
    return this.antiAffinityPods.values();
  }

  /** Every placed pod with the node it is on. */
  placedPods(): Iterable<{ info: PodInfo; nodeName: string }> {
    return this.placed.values();
  }

  /** Nodes running pods of the controller with this uid, with how many each. */
  nodesOfController(uid: string): ReadonlyMap<NodeInfo, number> | undefined {
    return this.controllerNodes.get(uid);
  }

  /** Labels of the node named `nodeName` (empty when its Node is not known). */
  nodeLabels(nodeName: string): Readonly<Record<string, string>> {
    return this.nodeInfos.get(nodeName)?.labels ?? {};
  }

  private place(info: PodInfo, nodeName: string, assumed: boolean): void {
    this.removePod(info.key);
    const p: PlacedPod = { info, nodeName, assumed };
    this.placed.set(info.key, p);
    if (info.antiAffinity.length > 0) this.antiAffinityPods.set(info.key, p);
    let node = this.nodeInfos.get(nodeName);
    if (!node) {
      node = new NodeInfo(nodeName);
      this.nodeInfos.set(nodeName, node);
    }
    node.addPod(info);
    this.countController(info.controllerUid, node, 1);
  }

  private countController(uid: string, node: NodeInfo, delta: number): void {
    if (!uid) return;
    let nodes = this.controllerNodes.get(uid);
    if (!nodes) {
      nodes = new Map();
      this.controllerNodes.set(uid, nodes);
    }
    const n = (nodes.get(node) ?? 0) + delta;
    if (n > 0) nodes.set(node, n);
    else nodes.delete(node);
    if (nodes.size === 0) this.controllerNodes.delete(uid);
  }
}
