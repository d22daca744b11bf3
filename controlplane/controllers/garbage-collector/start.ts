/**
 * Wires the garbage collector for one leadership term: one shared informer per tracked resource
 * (every resource in the API table unless told otherwise), its handlers, and the workers. The
 * integrator calls `startGarbageCollector` each time it starts leading, with that term's signal.
 */
import type { KubeObject } from "../../api/object.js";
import { resources as allResources, type ResourceInfo } from "../../api/resources.js";
import type { InformerFactory } from "../../informers/informer-factory.js";
import { byOwnerUidIndex } from "../machinery/index.js";
import { type ControllerRunDeps, newRunner, type StartedController } from "../replicaset/index.js";
import { GarbageCollector } from "./garbage-collector.js";
import { handleAllUntil } from "./handlers-until.js";

export interface GarbageCollectorDeps extends ControllerRunDeps {
  /**
   * The shared informer factory (its informers carry the byOwnerUid index). The collector asks it
   * for one informer per tracked resource; informers made here start with the factory.
   */
  informers: Pick<InformerFactory, "informer">;
  /** Resources whose objects can own or be owned; default every resource in controlplane/api/resources.ts. */
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
    informer.lister.byIndex(byOwnerUidIndex, "");
    return { info, informer };
  });
  const runner = newRunner("garbage-collector", deps, (key) => controller.sync(key));
  const controller = new GarbageCollector({
    resources: tracked.map(({ info, informer }) => ({ info, lister: informer.lister })),
    client: deps.client,
    recorder: deps.recorder,
    queue: runner.queue,
  });
  handleAllUntil(
    tracked.map(({ info, informer }) => ({ informer, handler: controller.handlerFor(info) })),
    deps.signal,
  );
  const done = runner.run(
    deps.signal,
    tracked.map((t) => t.informer),
  );
  return { controller, runner, done };
}
