/**
 * The scheduler's view of the cluster: a NodeInfo per node and every pod placed on a node, either
 * bound (seen with spec.nodeName from the informer) or assumed (this scheduler decided and the
 * binding is in flight). Assuming lets back-to-back decisions see earlier ones before the watch
 * confirms them, like kube-scheduler's assume cache; an assumed pod whose binding finished but never
 * shows up bound expires after `assumedTtlMs`.
 */

import type { Selector } from "../../foundation/api/labels.js";
import type { DeepReadonly } from "../../foundation/api/readonly.js";
import type { Clock } from "../../foundation/util/clock.js";
import type { Node } from "../../proto/gen/api.js";
import type { AntiAffinityTerm } from "./anti-affinity-terms.js";
import { NodeInfo } from "./node-info.js";
import type { PodInfo } from "./pod-info.js";

/** One required anti-affinity term of a placed pod. */
export interface PlacedTerm {
  readonly term: AntiAffinityTerm;
  readonly info: PodInfo;
  readonly nodeName: string;
}

interface PlacedPod {
  info: PodInfo;
  nodeName: string;
  assumed: boolean;
  /** This pod's required anti-affinity terms as filed in the term index. */
  terms: PlacedTerm[];
  /** For an assumed pod whose binding call returned: drop it if still unconfirmed at this time. */
  expiresAt?: number;
}

export class SchedulerCache {
  private readonly nodeInfos = new Map<string, NodeInfo>();
  private nodeArray: NodeInfo[] | undefined;
  private readonly placed = new Map<string, PlacedPod>();
  /**
   * Anti-affinity terms of placed pods by the first `key\0value` they require (Equals or In), so an
   * incoming pod is checked only against terms that can select it; terms without one are unindexed.
   */
  private readonly termsByLabel = new Map<string, Set<PlacedTerm>>();
  private readonly unindexedTerms = new Set<PlacedTerm>();
  private readonly expiring = new Set<string>();
  /** `key\0value` → placed pods with that label, so a selector looks only at pods it may match. */
  private readonly byLabel = new Map<string, Set<PlacedPod>>();
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
    for (const t of p.terms) this.unfileTerm(t);
    for (const [k, v] of Object.entries(p.info.labels)) {
      const set = this.byLabel.get(`${k}\0${v}`);
      set?.delete(p);
      if (set?.size === 0) this.byLabel.delete(`${k}\0${v}`);
    }
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

  /** Terms of placed pods that may select a pod with these labels; callers still check each fully. */
  termsThatMaySelect(labels: Readonly<Record<string, string>>): PlacedTerm[] {
    const out = [...this.unindexedTerms];
    for (const [k, v] of Object.entries(labels)) {
      const terms = this.termsByLabel.get(`${k}\0${v}`);
      if (terms) for (const t of terms) out.push(t);
    }
    return out;
  }

  /**
   * Placed pods that `selector` may match: narrowed through the label index by its first Equals or
   * In requirement, else every placed pod. Callers still apply the whole selector.
   */
  candidatesFor(selector: Selector): Iterable<{ info: PodInfo; nodeName: string }> {
    const req = selector.requirements.find((r) => r.operator === "Equals" || r.operator === "In");
    if (!req) return this.placed.values();
    const out: PlacedPod[] = [];
    for (const v of req.values) for (const p of this.byLabel.get(`${req.key}\0${v}`) ?? []) out.push(p);
    return out;
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
    const terms = info.antiAffinity.map((term) => ({ term, info, nodeName }));
    const p: PlacedPod = { info, nodeName, assumed, terms };
    this.placed.set(info.key, p);
    for (const t of terms) this.fileTerm(t);
    for (const [k, v] of Object.entries(info.labels)) {
      const label = `${k}\0${v}`;
      const set = this.byLabel.get(label);
      if (set) set.add(p);
      else this.byLabel.set(label, new Set([p]));
    }
    let node = this.nodeInfos.get(nodeName);
    if (!node) {
      node = new NodeInfo(nodeName);
      this.nodeInfos.set(nodeName, node);
    }
    node.addPod(info);
    this.countController(info.controllerUid, node, 1);
  }

  private termLabels(t: PlacedTerm): string[] | undefined {
    const req = t.term.selector.requirements.find((r) => r.operator === "Equals" || r.operator === "In");
    return req?.values.map((v) => `${req.key}\0${v}`);
  }

  private fileTerm(t: PlacedTerm): void {
    const labels = this.termLabels(t);
    if (!labels) {
      this.unindexedTerms.add(t);
      return;
    }
    for (const label of labels) {
      const set = this.termsByLabel.get(label);
      if (set) set.add(t);
      else this.termsByLabel.set(label, new Set([t]));
    }
  }

  private unfileTerm(t: PlacedTerm): void {
    this.unindexedTerms.delete(t);
    for (const label of this.termLabels(t) ?? []) {
      const set = this.termsByLabel.get(label);
      set?.delete(t);
      if (set?.size === 0) this.termsByLabel.delete(label);
    }
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
