/**
 * Container lifecycle hooks (postStart, preStop) as the kubelet runs them: exec, httpGet and
 * tcpSocket the way a probe makes them, and `sleep` in the agent itself, each bounded by a budget.
 */
import type { LifecycleHandler } from "../../proto/gen/api.js";
import { type ProbeResult, type ProbeTarget, runProbe } from "./probes.js";

export interface HookTarget extends ProbeTarget {
  sleep(ms: number): Promise<void>;
}

/** Runs `handler` within `budgetMs`; a sleep is cut short at the budget, like the kubelet does. */
export async function runHook(
  handler: LifecycleHandler,
  target: HookTarget,
  budgetMs: number,
): Promise<ProbeResult> {
  if (handler.sleep) {
    await target.sleep(Math.max(0, Math.min((handler.sleep.seconds ?? 0) * 1000, budgetMs)));
    return { ok: true };
  }
  const { exec, httpGet, tcpSocket } = handler;
  return runProbe(
    {
      ...(exec ? { exec } : {}),
      ...(httpGet ? { httpGet } : {}),
      ...(tcpSocket ? { tcpSocket } : {}),
      timeoutSeconds: Math.max(1, Math.ceil(budgetMs / 1000)),
    },
    target,
  );
}
