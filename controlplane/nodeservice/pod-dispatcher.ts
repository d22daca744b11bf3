/**
 * Feeds each node's WatchPods stream from the shared pod informer: on subscribe, the full set of
 * pods bound to the node (from the by-node index); then every add, change and delete of a pod on
 * that node, including a pod moving to it when it is bound. One informer handler serves all nodes,
 * so an event costs a map lookup, not a scan of every connected agent.
 */
import type { Pod } from "../../proto/gen/api.js";
import type { KubeObject } from "../api/object.js";
import { byNodeNameIndex, type DeepReadonly, type Informer } from "../controllers/machinery/index.js";

export type PodChange = "ADDED" | "MODIFIED" | "DELETED";

export interface PodSubscriber {
  sync(pods: readonly DeepReadonly<Pod>[], resourceVersion: string): void;
  change(type: PodChange, pod: DeepReadonly<Pod>): void;
}

type PodObject = Pod & KubeObject;

export class PodDispatcher {
  private readonly subscribers = new Map<string, Set<PodSubscriber>>();
  private readonly unregister: () => void;

  constructor(private readonly informer: Informer<PodObject>) {
    this.unregister = informer.addEventHandler({
      onAdd: (pod) => this.emit(pod.spec?.nodeName, "ADDED", pod),
      onUpdate: (oldPod, newPod) => {
        const before = oldPod.spec?.nodeName;
        const after = newPod.spec?.nodeName;
        if (oldPod === newPod) return;
        if (before && before !== after) this.emit(before, "DELETED", oldPod);
        this.emit(after, before === after ? "MODIFIED" : "ADDED", newPod);
      },
      onDelete: (pod) => this.emit(pod.spec?.nodeName, "DELETED", pod),
    });
  }

  /** Sends the node's current pods to `sub`, then their changes until the returned function is called. */
  async subscribe(nodeName: string, sub: PodSubscriber): Promise<() => void> {
    await this.informer.waitForSync();
    let set = this.subscribers.get(nodeName);
    if (!set) {
      set = new Set();
      this.subscribers.set(nodeName, set);
    }
    set.add(sub);
    sub.sync(this.informer.lister.byIndex(byNodeNameIndex, nodeName), this.informer.resourceVersion);
    return () => {
      set.delete(sub);
      if (set.size === 0) this.subscribers.delete(nodeName);
    };
  }

  close(): void {
    this.unregister();
    this.subscribers.clear();
  }

  private emit(nodeName: string | undefined, type: PodChange, pod: DeepReadonly<Pod>): void {
    if (!nodeName) return;
    for (const sub of this.subscribers.get(nodeName) ?? []) sub.change(type, pod);
  }
}
