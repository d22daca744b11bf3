/**
 * The one way a controller starts, for one leadership term: a runner (work queue, workers, metrics)
 * around the controller's `sync`, the controller built on that runner's queue, its informer handlers
 * registered until the term's signal aborts, and the workers started once those informers synced.
 * Each controller's start.ts only names its informers and handlers and passes its own options.
 */
import type { Registry } from "prom-client";
import { type Clock, realClock } from "../../foundation/util/clock.js";
import { Controller, type Syncable } from "./controller.js";
import type { ControllerClient } from "./controller-client.js";
import type { EventRecorder } from "./events.js";
import type { EventHandler, Informer } from "./informer.js";
import type { InformerFactory } from "./informer-factory.js";
import type { WorkQueue } from "./work-queue.js";

/** What every controller's start function takes besides its caches. */
export interface ControllerRunDeps {
  client: ControllerClient;
  recorder: EventRecorder;
  /** Stops the workers and unregisters the handlers. */
  signal: AbortSignal;
  clock?: Clock;
  /** Concurrent syncs of different keys; default 5 like kube-controller-manager. */
  workers?: number;
  /** Prometheus registry for reconcile metrics. */
  metrics?: Registry;
  onError?(key: string, err: unknown): void;
}

export interface StartedController<C> {
  controller: C;
  runner: Controller;
  /** Resolves when the signal aborted and the workers finished their current keys. */
  done: Promise<void>;
}

/** One informer and the handler a controller registers on it; made by `handle`. */
export interface HandlerRegistration {
  /** The cache the workers wait for. */
  readonly cache: Syncable;
  /** Adds the handler; returns its removal. */
  register(): () => void;
}

/** Pairs `informer` with `handler`, keeping their object types matched. */
export function handle<T>(informer: Informer<T>, handler: EventHandler<T>): HandlerRegistration {
  return { cache: informer, register: () => informer.addEventHandler(handler) };
}

export interface ControllerDefinition<C extends { sync(key: string): Promise<void> }> {
  /** Metric label and trace prefix, e.g. "replicaset". */
  name: string;
  /** Builds the controller around the runner's queue. */
  build(queue: WorkQueue): C;
  /** The controller's handlers, registered in this order; their informers are the caches it waits for. */
  handlers(controller: C): readonly HandlerRegistration[];
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

/**
 * Starts `def` until `deps.signal` aborts. The handlers go away through one abort listener for all
 * of them (one listener per handler would trip Node's leak warning once a controller watches more
 * than ten resources, as the garbage collector and namespace controller do).
 */
export function startController<C extends { sync(key: string): Promise<void> }>(
  deps: ControllerRunDeps,
  def: ControllerDefinition<C>,
): StartedController<C> {
  const runner = newRunner(def.name, deps, (key) => controller.sync(key));
  const controller = def.build(runner.queue);
  const registrations = def.handlers(controller);
  registerUntil(registrations, deps.signal);
  const done = runner.run(
    deps.signal,
    registrations.map((r) => r.cache),
  );
  return { controller, runner, done };
}

function registerUntil(registrations: readonly HandlerRegistration[], signal: AbortSignal): void {
  if (signal.aborted) return;
  const unregister = registrations.map((r) => r.register());
  signal.addEventListener(
    "abort",
    () => {
      for (const off of unregister) off();
    },
    { once: true },
  );
}

/**
 * The deps of a controller whose syncs must not overlap, so it runs one worker: every key feeds one
 * output (the ingress controller's one rendered config) or draws on one pool (the LoadBalancer
 * controller's addresses). Its caches come from the shared informer factory.
 */
export interface SerialControllerDeps extends ControllerRunDeps {
  informers: Pick<InformerFactory, "informer">;
}

/** Starts `def` as `startController` does, with one worker whatever `deps.workers` says. */
export function startSerialController<C extends { sync(key: string): Promise<void> }>(
  deps: SerialControllerDeps,
  def: ControllerDefinition<C>,
): StartedController<C> {
  return startController({ ...deps, workers: 1 }, def);
}

/**
 * Throws, naming the index, when `informer`'s cache lacks `index`. Start functions check before
 * building anything, so a refused start leaves nothing registered.
 */
export function requireIndex(informer: Informer<unknown>, index: string): void {
  informer.lister.byIndex(index, "");
}
