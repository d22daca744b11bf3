/**
 * Starts the garbage collector for one leadership term: one shared informer per tracked resource
 * (every resource in the API table unless told otherwise), its handlers, and the workers. The
 * integrator calls `startGarbageCollector` each time it starts leading, with that term's signal.
 */
import type { KubeObject } from "../../../foundation/api/object.js";
import { resources as allResources, type ResourceInfo } from "../../../foundation/api/resources.js";
import {
  byOwnerUidIndex,
  type ControllerRunDeps,
  handle,
  type InformerFactory,
  requireIndex,
  type StartedController,
  startController,
} from "../../client/index.js";
import { GarbageCollector } from "./garbage-collector.js";

export interface GarbageCollectorDeps extends ControllerRunDeps {
  /**
   * The shared informer factory (its informers carry the byOwnerUid index). The collector asks it
   * for one informer per tracked resource; informers made here start with the factory.
   */
  informers: Pick<InformerFactory, "informer">;
  /** Resources whose objects can own or be owned; default every resource in foundation/api/resources.ts. */
  resources?: readonly ResourceInfo[];
}

/**
 * Starts the collector's workers until `deps.signal` aborts. Deps: `client` (writes: get, patch,
 * delete), `recorder` (events with component "garbage-collector"), `signal`, and optionally
 * `workers` (default 5), `clock`, `metrics`, `onError`.
 */
export function startGarbageCollector(deps: GarbageCollectorDeps): StartedController<GarbageCollector> {
  const tracked = (deps.resources ?? allResources).map((info) => {
    const informer = deps.informers.informer<KubeObject>(info);
    // Fails now, naming the missing index, rather than on the first sync.
    requireIndex(informer, byOwnerUidIndex);
    return { info, informer };
  });
  return startController(deps, {
    name: "garbage-collector",
    build: (queue) =>
      new GarbageCollector({
        resources: tracked.map(({ info, informer }) => ({ info, lister: informer.lister })),
        client: deps.client,
        recorder: deps.recorder,
        queue,
      }),
    handlers: (c) => tracked.map(({ info, informer }) => handle(informer, c.handlerFor(info))),
  });
}
