/**
 * Shared informers, one per resource, like client-go's SharedInformerFactory: every controller and
 * the scheduler in this control plane read from the same caches and the same watch, so N controllers
 * cost one watch per resource. In the control plane the source is the etcd store itself (reads skip
 * the HTTP hop; writes go through the registry so they are validated like any API call); the factory
 * asks only for the store's list and watch, so this package never imports the store.
 */

import type { KubeObject } from "../../foundation/api/object.js";
import { type ResourceInfo, resourceForKind } from "../../foundation/api/resources.js";
import type { WatchEvent } from "../../foundation/api/watch.js";
import { type Clock, realClock } from "../../foundation/util/clock.js";
import type { Pod } from "../../proto/gen/api.js";
import { byNodeNameIndex, byOwnerUid, byOwnerUidIndex, podsByNodeName } from "./indexers.js";
import { type Informer, ListWatchInformer } from "./informer.js";
import type { ListerWatcher, WatchHandle } from "./lister-watcher.js";
import type { IndexFunc } from "./object-cache.js";

/**
 * What the factory reads objects from: a list of every namespace and a watch from a revision, per
 * resource. The store (controlplane/store) has exactly these methods.
 */
export interface ResourceSource {
  list(info: ResourceInfo): Promise<{ items: readonly unknown[]; resourceVersion: string }>;
  watch(
    info: ResourceInfo,
    opts: { resourceVersion: string },
    onEvent: (event: WatchEvent<KubeObject>) => void,
    onError: (err: Error) => void,
  ): Promise<WatchHandle>;
}

/** Lists and watches one resource in every namespace straight from `store`. */
export function storeListerWatcher<T>(store: ResourceSource, info: ResourceInfo): ListerWatcher<T> {
  return {
    list: async () => {
      const list = await store.list(info);
      return { items: list.items as T[], resourceVersion: list.resourceVersion };
    },
    watch: (resourceVersion, onEvent, onError) =>
      store.watch(info, { resourceVersion }, (e) => onEvent(e as never), onError),
  };
}

// Every informer indexes objects by owner; pods also by node. Indexes are fixed at construction, so
// the factory gives each shared informer all of them up front.
function indexersFor(info: ResourceInfo): Record<string, IndexFunc<KubeObject>> {
  const indexers: Record<string, IndexFunc<KubeObject>> = { [byOwnerUidIndex]: byOwnerUid };
  if (info.kind === "Pod" && info.group === "") {
    indexers[byNodeNameIndex] = podsByNodeName as unknown as IndexFunc<KubeObject>;
  }
  return indexers;
}

export interface InformerFactoryOptions {
  clock?: Clock;
  /** Period of re-delivering every cached object; 0 disables. */
  resyncMs?: number;
}

export class InformerFactory {
  private readonly informers = new Map<string, ListWatchInformer<KubeObject>>();
  private started = false;

  constructor(
    private readonly store: ResourceSource,
    private readonly opts: InformerFactoryOptions = {},
  ) {}

  /** The shared informer of a resource, made on first use; started if the factory already runs. */
  informer<T extends KubeObject = KubeObject>(info: ResourceInfo): Informer<T> {
    const key = `${info.group}/${info.plural}`;
    let informer = this.informers.get(key);
    if (!informer) {
      informer = new ListWatchInformer<KubeObject>(storeListerWatcher(this.store, info), {
        name: info.plural,
        clock: this.opts.clock ?? realClock,
        resyncMs: this.opts.resyncMs ?? 0,
        indexers: indexersFor(info),
      });
      this.informers.set(key, informer);
      if (this.started) informer.start();
    }
    return informer as unknown as Informer<T>;
  }

  /** Shorthand for the pod informer, which most loops need. */
  pods(): Informer<Pod & KubeObject> {
    return this.informer(resourceForKind("v1", "Pod")!);
  }

  start(): void {
    this.started = true;
    for (const informer of this.informers.values()) informer.start();
  }

  async waitForSync(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync()));
  }

  stop(): void {
    this.started = false;
    for (const informer of this.informers.values()) informer.stop();
  }
}
