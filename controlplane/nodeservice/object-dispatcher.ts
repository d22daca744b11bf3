/**
 * Feeds agents' watch streams from the control plane's shared informers: on subscribe, the full
 * current set (for pods: those bound to the node, from the by-node index); then every add, change
 * and delete, including a pod moving onto a node when it is bound. One informer handler serves all
 * subscribers, routing each event by a key (the pod's node, or one key for cluster-wide kinds), so
 * an event costs a map lookup, not a scan of every connected agent.
 */

import type { KubeObject } from "../../foundation/api/object.js";
import type { Pod } from "../../proto/gen/api.js";
import { byNodeNameIndex, type DeepReadonly, type Informer } from "../client/index.js";

export type ObjectChange = "ADDED" | "MODIFIED" | "DELETED";

export interface Subscriber<T> {
  sync(objects: readonly DeepReadonly<T>[], resourceVersion: string): void;
  change(type: ObjectChange, obj: DeepReadonly<T>): void;
}

/** Where an object's events go: the subscribers of this key; undefined goes nowhere. */
type RouteOf<T> = (obj: DeepReadonly<T>) => string | undefined;

const everyone = "*";

export class ObjectDispatcher<T extends KubeObject> {
  private readonly subscribers = new Map<string, Set<Subscriber<T>>>();
  private readonly unregister: () => void;

  private constructor(
    private readonly informer: Informer<T>,
    routeOf: RouteOf<T>,
    private readonly current: (key: string) => DeepReadonly<T>[],
    /** What subscribers get of each object (all of it by default). */
    private readonly project: (obj: DeepReadonly<T>) => DeepReadonly<T> = (obj) => obj,
  ) {
    this.unregister = informer.addEventHandler({
      onAdd: (obj) => this.emit(routeOf(obj), "ADDED", obj),
      onUpdate: (oldObj, newObj) => {
        if (oldObj === newObj) return;
        const before = routeOf(oldObj);
        const after = routeOf(newObj);
        if (before && before !== after) this.emit(before, "DELETED", oldObj);
        this.emit(after, before === after ? "MODIFIED" : "ADDED", newObj);
      },
      onDelete: (obj) => this.emit(routeOf(obj), "DELETED", obj),
    });
  }

  /** Pods, routed to the node they are bound to. */
  static pods(informer: Informer<Pod & KubeObject>): ObjectDispatcher<Pod & KubeObject> {
    return new ObjectDispatcher(
      informer,
      (pod) => pod.spec?.nodeName || undefined,
      (node) => informer.lister.byIndex(byNodeNameIndex, node),
    );
  }

  /** Objects routed by their own key (`namespace/name`): one subscriber per object it reads. */
  static byKey<T extends KubeObject>(informer: Informer<T>): ObjectDispatcher<T> {
    return new ObjectDispatcher(
      informer,
      (obj) => `${obj.metadata.namespace}/${obj.metadata.name}`,
      (key) => {
        const obj = informer.lister.get(key);
        return obj ? [obj] : [];
      },
    );
  }

  /**
   * A cluster-wide kind: every subscriber gets every object, or only what `project` keeps of it
   * (for kinds whose other fields nodes have no business reading).
   */
  static all<T extends KubeObject>(
    informer: Informer<T>,
    project?: (obj: DeepReadonly<T>) => DeepReadonly<T>,
  ): ObjectDispatcher<T> {
    return new ObjectDispatcher(
      informer,
      () => everyone,
      () => informer.lister.list(),
      project,
    );
  }

  /** The cached object with this key (`namespace/name`, or `name` for cluster-scoped kinds). */
  cached(key: string): DeepReadonly<T> | undefined {
    return this.informer.lister.get(key);
  }

  /** Sends the current set for `key` (a node name, or `allObjectsKey`) to `sub`, then changes until the returned function is called. */
  async subscribe(key: string, sub: Subscriber<T>): Promise<() => void> {
    await this.informer.waitForSync();
    let set = this.subscribers.get(key);
    if (!set) {
      set = new Set();
      this.subscribers.set(key, set);
    }
    set.add(sub);
    sub.sync(this.current(key).map(this.project), this.informer.resourceVersion);
    return () => {
      set.delete(sub);
      if (set.size === 0) this.subscribers.delete(key);
    };
  }

  close(): void {
    this.unregister();
    this.subscribers.clear();
  }

  private emit(key: string | undefined, type: ObjectChange, obj: DeepReadonly<T>): void {
    if (!key) return;
    const subs = this.subscribers.get(key);
    if (!subs?.size) return;
    const seen = this.project(obj);
    for (const sub of subs) sub.change(type, seen);
  }
}

export { everyone as allObjectsKey };
