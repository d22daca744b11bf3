/**
 * The pod's status computed from its containers' states exactly like the kubelet: the phase
 * (Pending until init containers completed and every container started; Running while any runs or
 * will be restarted; Succeeded when all exited 0 and none restarts; Failed when one failed and none
 * restarts), the conditions PodScheduled, Initialized, ContainersReady and Ready with their
 * lastTransitionTime kept while unchanged, and the pod IP, host IP and start time. Pure.
 */
import type { ContainerStatus, Pod, PodCondition, PodStatus } from "../../proto/gen/api.js";

export interface PodRuntimeView {
  initContainerStatuses: ContainerStatus[];
  containerStatuses: ContainerStatus[];
  podIP?: string;
  hostIP?: string;
  startTime?: string;
}

function initDone(s: ContainerStatus): boolean {
  return s.state?.terminated?.exitCode === 0;
}

function initFailedForGood(s: ContainerStatus, restartPolicy: string): boolean {
  const t = s.state?.terminated ?? s.lastState?.terminated;
  return restartPolicy === "Never" && t !== undefined && t.exitCode !== 0 && s.state?.running === undefined;
}

/** The pod phase as the kubelet's getPhase computes it. */
export function podPhase(pod: Pod, view: PodRuntimeView): string {
  const restartPolicy = pod.spec?.restartPolicy ?? "Always";
  const inits = view.initContainerStatuses;
  if (inits.some((s) => initFailedForGood(s, restartPolicy))) return "Failed";
  const initializing = (pod.spec?.initContainers ?? []).length > 0 && !inits.every(initDone);
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of view.containerStatuses) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.lastState?.terminated) stopped++;
    else waiting++;
  }
  if (initializing) return "Pending";
  if (waiting > 0) return "Pending";
  if (running > 0) return "Running";
  if (stopped > 0) {
    if (restartPolicy === "Always") return "Running";
    if (stopped === succeeded) return "Succeeded";
    if (restartPolicy === "Never") return "Failed";
    return "Running";
  }
  return "Pending";
}

function condition(
  type: string,
  ok: boolean,
  reason: string | undefined,
  message: string | undefined,
  previous: PodCondition[] | undefined,
  now: string,
): PodCondition {
  const status = ok ? "True" : "False";
  const before = previous?.find((c) => c.type === type);
  const c: PodCondition = {
    type,
    status,
    lastTransitionTime:
      before?.status === status && before.lastTransitionTime ? before.lastTransitionTime : now,
  };
  if (!ok && reason !== undefined) c.reason = reason;
  if (!ok && message !== undefined) c.message = message;
  return c;
}

/** The full status; `previous` keeps transition times of unchanged conditions; `now` is RFC 3339. */
export function computePodStatus(
  pod: Pod,
  view: PodRuntimeView,
  previous: PodStatus | undefined,
  now: string,
): PodStatus {
  const phase = podPhase(pod, view);
  const prev = previous?.conditions;
  const incompleteInit = view.initContainerStatuses.filter((s) => !initDone(s)).map((s) => s.name);
  const unready = view.containerStatuses.filter((s) => !s.ready).map((s) => s.name);
  const terminal = phase === "Succeeded" || phase === "Failed";
  const notReadyReason = terminal && phase === "Succeeded" ? "PodCompleted" : "ContainersNotReady";
  const notReadyMessage =
    notReadyReason === "PodCompleted" ? undefined : `containers with unready status: [${unready.join(" ")}]`;
  const initialized = incompleteInit.length === 0 || (terminal && phase === "Succeeded");
  const conditions = [
    condition("PodScheduled", true, undefined, undefined, prev, now),
    condition(
      "Initialized",
      initialized,
      "ContainersNotInitialized",
      `containers with incomplete status: [${incompleteInit.join(" ")}]`,
      prev,
      now,
    ),
    condition("ContainersReady", unready.length === 0, notReadyReason, notReadyMessage, prev, now),
    condition("Ready", unready.length === 0, notReadyReason, notReadyMessage, prev, now),
  ];
  const status: PodStatus = { phase, conditions };
  if (view.hostIP !== undefined) status.hostIP = view.hostIP;
  if (view.podIP !== undefined) {
    status.podIP = view.podIP;
    status.podIPs = [{ ip: view.podIP }];
  }
  if (view.startTime !== undefined) status.startTime = view.startTime;
  if (view.initContainerStatuses.length > 0) status.initContainerStatuses = view.initContainerStatuses;
  status.containerStatuses = view.containerStatuses;
  return status;
}
