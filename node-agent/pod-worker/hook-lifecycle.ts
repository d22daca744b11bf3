/**
 * The container's lifecycle handlers as a hook: postStart once the attempt started (a failure
 * kills it and the restart policy takes over, as with the kubelet), preStop before it gets SIGTERM
 * (within what is left of the grace period).
 */

import { runHook } from "./lifecycle-hooks.js";
import type { PodHook } from "./pod-hook.js";

// The kubelet gives postStart no bound, but a hook that never returns would stall this pod's loop.
const POST_START_BUDGET_MS = 120_000;

export function lifecycleHook(): PodHook {
  return {
    name: "lifecycle",
    async poststart(run, a) {
      const handler = a.spec.lifecycle?.postStart;
      if (!handler) return undefined;
      const result = await runHook(handler, run.target(a.spec, a.id), POST_START_BUDGET_MS);
      if (result.ok) return undefined;
      const message = `PostStartHook failed: ${result.message}`;
      run.event("Warning", "FailedPostStartHook", message);
      return { kill: `FailedPostStartHook: ${message}` };
    },
    async prestop(run, a, deadline) {
      const handler = a.spec.lifecycle?.preStop;
      if (!handler) return;
      const budget = Math.max(0, deadline - run.deps.clock.now());
      const result = await runHook(handler, run.target(a.spec, a.id), budget);
      if (!result.ok) run.event("Warning", "FailedPreStopHook", `PreStopHook failed: ${result.message}`);
    },
  };
}
