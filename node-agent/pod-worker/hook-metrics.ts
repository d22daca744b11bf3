/** The pod worker's container metrics as a hook: starts by kind, and restarts, counted as they happen. */
import type { PodHook } from "./pod-hook.js";

export function metricsHook(): PodHook {
  return {
    name: "metrics",
    async poststart(run, a) {
      const metrics = run.deps.metrics;
      metrics?.containerStarts.inc({ kind: a.rec.init ? "init" : "regular" });
      if (a.rec.restartCount > 0) metrics?.containerRestarts.inc();
      return undefined;
    },
  };
}
