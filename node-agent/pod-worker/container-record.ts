/**
 * What the worker knows about one container of a pod between syncs: the current attempt (a fresh
 * runtime container per start, so restarts get a clean writable layer), how the last one ended,
 * the crash-loop backoff, and probe results.
 */
import type { ContainerState } from "../runtime/oci/runtime-client.js";

export interface ExitRecord {
  exitCode: number;
  signal: number;
  reason: "Completed" | "Error" | "OOMKilled";
  startedAt: string;
  finishedAt: string;
  containerID: string;
  /** What the container left at its terminationMessagePath (or its log's tail), if anything. */
  message?: string;
}

export interface ProbeCounters {
  successes: number;
  failures: number;
  lastRunAt: number;
}

export interface ContainerRecord {
  name: string;
  init: boolean;
  /** Runtime id of the current (or last) attempt; undefined before the first start. */
  id?: string;
  attempt: number;
  restartCount: number;
  running: boolean;
  startedAt?: string;
  /** Epoch ms of the current attempt's start, for backoff reset and probe delays. */
  startedAtMs?: number;
  /** The current attempt's exit, once it ended. */
  exit?: ExitRecord;
  /** The previous attempt's exit (lastState). */
  lastExit?: ExitRecord | undefined;
  /** Log file of the current attempt and of the one before (kctl logs --previous). */
  logPath?: string;
  previousLogPath?: string;
  /** Why it is not running, when it is waiting (ContainerCreating, CrashLoopBackOff, ErrImageNeverPull, ...). */
  waiting?: { reason: string; message?: string } | undefined;
  /** Delay before the restart after the next exit (0 until the first exit). */
  backoffMs: number;
  /** Epoch ms before which no restart is attempted; 0 while no restart is pending. */
  backoffUntil: number;
  /** The delay of the pending restart (for the BackOff message). */
  currentDelayMs: number;
  ready: boolean;
  /** The startup probe passed (or there is none). */
  started: boolean;
  probes: { readiness: ProbeCounters; liveness: ProbeCounters; startup: ProbeCounters };
}

export function newRecord(name: string, init: boolean): ContainerRecord {
  const counters = () => ({ successes: 0, failures: 0, lastRunAt: 0 });
  return {
    name,
    init,
    attempt: 0,
    restartCount: 0,
    running: false,
    backoffMs: 0,
    backoffUntil: 0,
    currentDelayMs: 0,
    ready: false,
    started: false,
    waiting: { reason: "ContainerCreating" },
    probes: { readiness: counters(), liveness: counters(), startup: counters() },
  };
}

/** Runtime container id: `<pod uid>_<container>_<attempt>` (the shim accepts [A-Za-z0-9_.-]). */
export function containerId(podUID: string, name: string, attempt: number): string {
  return `${podUID}_${name}_${attempt}`;
}

export function parseContainerId(id: string): { podUID: string; name: string; attempt: number } | undefined {
  const m = /^([0-9a-f-]{36})_(.+)_(\d+)$/.exec(id);
  return m ? { podUID: m[1]!, name: m[2]!, attempt: Number(m[3]) } : undefined;
}

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /** A container that ran this long before it exited starts over without delay. */
  resetAfterMs: number;
}

/**
 * Crash-loop backoff like the kubelet: the first restart is immediate, then 10 s, doubling up to 5
 * minutes; a container that ran for 10 minutes before it exited starts over.
 * e.g. exits after 2 s each time → restarts after 0 s, 10 s, 20 s, 40 s; after running 11 minutes → 0 s.
 * Returns the delay before this restart and the delay to use after the next exit.
 */
export function backoffStep(
  rec: ContainerRecord,
  now: number,
  policy: BackoffPolicy,
): { delayMs: number; nextMs: number } {
  const ranFor = rec.startedAtMs !== undefined ? now - rec.startedAtMs : 0;
  const delayMs = ranFor >= policy.resetAfterMs ? 0 : rec.backoffMs;
  const nextMs = delayMs === 0 ? policy.baseMs : Math.min(delayMs * 2, policy.maxMs);
  return { delayMs, nextMs };
}

/**
 * How an attempt ended, from the runtime's state (undefined when the runtime lost it, which counts
 * as killed: 137). A signal is reported as 128+signal, like a shell.
 */
export function exitRecordOf(
  state: ContainerState | undefined,
  rec: ContainerRecord,
  finishedAt: string,
): ExitRecord {
  const exit = state?.exit;
  return {
    exitCode: exit ? (exit.signal ? 128 + exit.signal : exit.exitCode) : 137,
    signal: exit?.signal ?? 0,
    reason: exit?.oomKilled
      ? "OOMKilled"
      : exit && exit.exitCode === 0 && !exit.signal
        ? "Completed"
        : "Error",
    startedAt: rec.startedAt ?? "",
    finishedAt: exit?.finishedAt ?? finishedAt,
    containerID: `kshim://${rec.id}`,
  };
}
