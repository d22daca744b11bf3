/**
 * The pod status the kubelet would report, computed from the worker's container records: phase,
 * the four conditions (with lastTransitionTime kept while a condition holds), container statuses
 * with state/lastState/restartCount/ready/started, pod and host IPs and start time.
 */
import type { ContainerState, ContainerStatus, Pod, PodCondition, PodStatus } from "../../proto/gen/api.js";
import type { ContainerRecord, ExitRecord } from "./container-record.js";

export interface StatusInput {
  pod: Pod;
  records: readonly ContainerRecord[];
  podIP?: string;
  hostIP: string;
  startTime: string;
  now: string;
  /** Set while the pod is being stopped: nothing is Ready any more. */
  terminating: boolean;
  /** A pod-level failure to report (e.g. the sandbox could not be made). */
  podError?: { reason: string; message: string };
  /** The pod has ended as a whole (DeadlineExceeded): Failed, whatever its containers did. */
  podFailure?: { reason: string; message: string };
  /** Image names as resolved, by container name. */
  images: ReadonlyMap<string, { image: string; imageID: string }>;
}

function terminated(exit: ExitRecord): ContainerState {
  return {
    terminated: {
      exitCode: exit.exitCode,
      ...(exit.signal ? { signal: exit.signal } : {}),
      reason: exit.reason,
      ...(exit.message ? { message: exit.message } : {}),
      startedAt: exit.startedAt,
      finishedAt: exit.finishedAt,
      containerID: exit.containerID,
    },
  };
}

function containerStatus(
  rec: ContainerRecord,
  image: { image: string; imageID: string } | undefined,
  specImage: string,
): ContainerStatus {
  let state: ContainerState;
  if (rec.running) state = { running: { startedAt: rec.startedAt ?? "" } };
  else if (rec.waiting)
    state = {
      waiting: {
        reason: rec.waiting.reason,
        ...(rec.waiting.message ? { message: rec.waiting.message } : {}),
      },
    };
  else if (rec.exit) state = terminated(rec.exit);
  else state = { waiting: { reason: "ContainerCreating" } };
  return {
    name: rec.name,
    state,
    lastState: rec.lastExit ? terminated(rec.lastExit) : {},
    ready: rec.ready,
    restartCount: rec.restartCount,
    image: image?.image ?? specImage,
    imageID: image?.imageID ?? "",
    ...(rec.id ? { containerID: `kshim://${rec.id}` } : {}),
    started: rec.running && rec.started,
  };
}

function phaseOf(pod: Pod, records: readonly ContainerRecord[], podError: boolean): string {
  const main = records.filter((r) => !r.init);
  const policy = pod.spec?.restartPolicy ?? "Always";
  const done = (r: ContainerRecord) =>
    !r.running && r.exit !== undefined && (r.waiting === undefined || r.waiting.reason === "Completed");
  const initFailed = records.some(
    (r) => r.init && !r.running && r.exit && r.exit.exitCode !== 0 && policy === "Never",
  );
  if (initFailed || podError) return podError ? "Pending" : "Failed";
  if (main.some((r) => r.running)) return "Running";
  if (main.length && main.every((r) => r.exit !== undefined && !r.running)) {
    if (policy === "Always")
      return main.some((r) => r.restartCount > 0 || r.attempt > 0) ? "Running" : "Pending";
    const failed = main.some((r) => r.exit!.exitCode !== 0);
    if (policy === "Never") return failed ? "Failed" : "Succeeded";
    if (main.every(done) && !failed) return "Succeeded";
    return "Running";
  }
  return "Pending";
}

function condition(
  type: string,
  ok: boolean,
  now: string,
  previous: PodCondition[] | undefined,
  reason?: string,
): PodCondition {
  const status = ok ? "True" : "False";
  const old = previous?.find((c) => c.type === type);
  return {
    type,
    status,
    lastTransitionTime: old?.status === status && old.lastTransitionTime ? old.lastTransitionTime : now,
    ...(ok || !reason ? {} : { reason }),
  };
}

export function computePodStatus(input: StatusInput): PodStatus {
  const { pod, records, now } = input;
  const previous = pod.status?.conditions;
  const inits = records.filter((r) => r.init);
  const mains = records.filter((r) => !r.init);
  const initialized = inits.every((r) => r.exit?.exitCode === 0 && !r.running);
  const containersReady = !input.terminating && mains.length > 0 && mains.every((r) => r.ready);
  const phase = input.podFailure ? "Failed" : phaseOf(pod, records, input.podError !== undefined);
  const conditions = [
    condition("PodScheduled", true, now, previous),
    condition("Initialized", initialized, now, previous, "ContainersNotInitialized"),
    condition("ContainersReady", containersReady, now, previous, "ContainersNotReady"),
    condition("Ready", containersReady, now, previous, "ContainersNotReady"),
  ];
  const specImage = (name: string) =>
    [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c) => c.name === name)
      ?.image ?? "";
  const status: PodStatus = {
    phase,
    conditions,
    hostIP: input.hostIP,
    startTime: input.startTime,
    containerStatuses: mains.map((r) => containerStatus(r, input.images.get(r.name), specImage(r.name))),
    qosClass: pod.status?.qosClass ?? "BestEffort",
  };
  if (inits.length)
    status.initContainerStatuses = inits.map((r) =>
      containerStatus(r, input.images.get(r.name), specImage(r.name)),
    );
  if (input.podIP) {
    status.podIP = input.podIP;
    status.podIPs = [{ ip: input.podIP }];
  }
  const podReason = input.podFailure ?? input.podError;
  if (podReason) {
    status.reason = podReason.reason;
    status.message = podReason.message;
  }
  return status;
}
