/**
 * Where a controller's cache comes from: a shared informer the integrator already runs (one watch
 * per resource for the whole control plane), or a ListerWatcher from which the controller builds,
 * starts and stops a private informer. Either way the cache carries the `byOwnerUid` index the
 * ReplicaSet and Deployment controllers look children up by. Shared by both controllers' factories.
 */
import type { Clock } from "../../util/clock.js";
import {
  byOwnerUid,
  byOwnerUidIndex,
  type EventHandler,
  type IndexFunc,
  Informer,
  type ListerWatcher,
  type ObjectWithMeta,
} from "../machinery/index.js";

export type InformerSource<T extends ObjectWithMeta> = Informer<T> | ListerWatcher<T>;

export interface InformerForOptions {
  name: string;
  clock: Clock;
  /** Aborting stops a private informer (a shared one is its owner's to stop). */
  signal: AbortSignal;
  /** Resync period of a private informer; 0 or omitted disables it. */
  resyncMs?: number;
}

/**
 * Throws (naming the index) when a shared informer lacks the `byOwnerUid` index. Factories check
 * every source before building anything, so a refused start leaves nothing running.
 */
export function checkSources(...sources: readonly unknown[]): void {
  for (const source of sources) if (source instanceof Informer) source.lister.byIndex(byOwnerUidIndex, "");
}

/** The informer for `source`: the shared one as is, or a private one, started here. */
export function informerFor<T extends ObjectWithMeta>(
  source: InformerSource<T>,
  o: InformerForOptions,
): Informer<T> {
  if (source instanceof Informer) return source;
  const informer = new Informer<T>(source, {
    name: o.name,
    clock: o.clock,
    resyncMs: o.resyncMs ?? 0,
    indexers: { [byOwnerUidIndex]: byOwnerUid as unknown as IndexFunc<T> },
  });
  if (o.signal.aborted) return informer;
  o.signal.addEventListener("abort", () => informer.stop(), { once: true });
  informer.start();
  return informer;
}

/** Registers `handler` on `informer` until `signal` aborts (objects already cached arrive as adds). */
export function handleUntil<T extends ObjectWithMeta>(
  informer: Informer<T>,
  handler: EventHandler<T>,
  signal: AbortSignal,
): void {
  if (signal.aborted) return;
  const unregister = informer.addEventHandler(handler);
  signal.addEventListener("abort", unregister, { once: true });
}
