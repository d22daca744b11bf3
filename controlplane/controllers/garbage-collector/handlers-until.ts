/**
 * Registers many informer handlers for one leadership term and removes them all when its signal
 * aborts, through a single abort listener (one listener per handler would trip Node's leak
 * warning once a controller watches more than ten resources, as the collector and namespace
 * controller do). Shared by the garbage collector's and the namespace controller's wiring.
 */
import type { EventHandler, Informer, ObjectWithMeta } from "../machinery/index.js";

export interface HandlerRegistration<T extends ObjectWithMeta> {
  informer: Informer<T>;
  handler: EventHandler<T>;
}

export function handleAllUntil<T extends ObjectWithMeta>(
  registrations: readonly HandlerRegistration<T>[],
  signal: AbortSignal,
): void {
  if (signal.aborted) return;
  const unregister = registrations.map(({ informer, handler }) => informer.addEventHandler(handler));
  signal.addEventListener(
    "abort",
    () => {
      for (const off of unregister) off();
    },
    { once: true },
  );
}
