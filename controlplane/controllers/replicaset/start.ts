/**
 * Wires the ReplicaSet controller in one call: caches (shared or private), event handlers, the
 * rate-limited work queue and its workers. The integrator calls `startReplicaSetController` once
 * per leadership term with that term's abort signal.
 */
import type { Registry } from "prom-client";
import type { Pod, ReplicaSet } from "../../../proto/gen/api.js";
import { type Clock, realClock } from "../../util/clock.js";
import type { ControllerClient } from "../client.js";
import type { EventRecorder } from "../events.js";
import { Controller } from "../machinery/index.js";
import { ReplicaSetController } from "./controller.js";
import { checkSources, handleUntil, type InformerSource, informerFor } from "./informer-source.js";

/** What every controller factory here takes besides its caches. */
export interface ControllerRunDeps {
  client: ControllerClient;
  recorder: EventRecorder;
  /** Stops the workers, unregisters the handlers and stops private informers. */
  signal: AbortSignal;
  clock?: Clock;
  /** Concurrent syncs of different keys; default 5 like kube-controller-manager. */
  workers?: number;
  /** Prometheus registry for reconcile metrics. */
  metrics?: Registry;
  /** Resync period of private informers (ms). */
  resyncMs?: number;
  onError?(key: string, err: unknown): void;
}

export interface ReplicaSetControllerDeps extends ControllerRunDeps {
  pods: InformerSource<Pod>;
  replicaSets: InformerSource<ReplicaSet>;
}

export interface StartedController<C> {
  controller: C;
  runner: Controller;
  /** Resolves when the signal aborted and the workers finished their current keys. */
  done: Promise<void>;
}

/** The runner for a controller named `name` whose sync is `sync`, configured from `deps`. */
export function newRunner(
  name: string,
  deps: ControllerRunDeps,
  sync: (key: string) => Promise<void>,
): Controller {
  return new Controller({
    name,
    sync,
    workers: deps.workers ?? 5,
    clock: deps.clock ?? realClock,
    ...(deps.metrics ? { registry: deps.metrics } : {}),
    ...(deps.onError ? { onError: deps.onError } : {}),
  });
}

export function startReplicaSetController(
  deps: ReplicaSetControllerDeps,
): StartedController<ReplicaSetController> {
  checkSources(deps.pods, deps.replicaSets);
  const clock = deps.clock ?? realClock;
  const base = { clock, signal: deps.signal, ...(deps.resyncMs ? { resyncMs: deps.resyncMs } : {}) };
  const pods = informerFor(deps.pods, { name: "pods", ...base });
  const replicaSets = informerFor(deps.replicaSets, { name: "replicasets", ...base });
  const runner = newRunner("replicaset", deps, (key) => controller.sync(key));
  const controller = new ReplicaSetController({
    pods: pods.lister,
    replicaSets: replicaSets.lister,
    client: deps.client,
    recorder: deps.recorder,
    clock,
    queue: runner.queue,
  });
  handleUntil(pods, controller.podHandler, deps.signal);
  handleUntil(replicaSets, controller.replicaSetHandler, deps.signal);
  const done = runner.run(deps.signal, [pods, replicaSets]);
  return { controller, runner, done };
}
