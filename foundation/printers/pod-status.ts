/**
 * The READY, STATUS and RESTARTS cells of a pod row, worked out the way kubectl's printer does:
 * init containers first (`Init:1/2`, `Init:CrashLoopBackOff`), then the main containers' waiting or
 * terminated reasons, `Terminating` once deletion started.
 */

import type { Pod } from "../../proto/gen/api.js";
import { age } from "./age.js";

export interface PodCells {
  ready: string;
  status: string;
  restarts: string;
}

function later(a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b;
  if (!b) return a;
  return Date.parse(b) > Date.parse(a) ? b : a;
}

export function podCells(pod: Pod, now: number): PodCells {
  const status = pod.status ?? {};
  const totalContainers = pod.spec?.containers?.length ?? 0;
  let ready = 0;
  let restarts = 0;
  let lastRestart: string | undefined;
  let reason = status.reason || status.phase || "Pending";

  let initializing = false;
  const inits = status.initContainerStatuses ?? [];
  for (const [i, c] of inits.entries()) {
    restarts += c.restartCount ?? 0;
    lastRestart = later(lastRestart, c.lastState?.terminated?.finishedAt);
    const term = c.state?.terminated;
    const wait = c.state?.waiting;
    if (term && (term.exitCode ?? 0) === 0) continue;
    initializing = true;
    if (term) {
      reason = term.reason
        ? `Init:${term.reason}`
        : term.signal
          ? `Init:Signal:${term.signal}`
          : `Init:ExitCode:${term.exitCode}`;
    } else if (wait?.reason && wait.reason !== "PodInitializing") {
      reason = `Init:${wait.reason}`;
    } else {
      reason = `Init:${i}/${pod.spec?.initContainers?.length ?? inits.length}`;
    }
    break;
  }

  if (!initializing) {
    restarts = 0;
    let hasRunning = false;
    for (const c of [...(status.containerStatuses ?? [])].reverse()) {
      restarts += c.restartCount ?? 0;
      lastRestart = later(lastRestart, c.lastState?.terminated?.finishedAt);
      const term = c.state?.terminated;
      if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
      else if (term?.reason) reason = term.reason;
      else if (term) reason = term.signal ? `Signal:${term.signal}` : `ExitCode:${term.exitCode ?? 0}`;
      else if (c.ready && c.state?.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === "Completed" && hasRunning) {
      const podReady = status.conditions?.some((c) => c.type === "Ready" && c.status === "True");
      reason = podReady ? "Running" : "NotReady";
    }
  }

  if (pod.metadata.deletionTimestamp) reason = status.reason === "NodeLost" ? "Unknown" : "Terminating";

  return {
    ready: `${ready}/${totalContainers}`,
    status: reason,
    restarts: lastRestart ? `${restarts} (${age(lastRestart, now)} ago)` : String(restarts),
  };
}
