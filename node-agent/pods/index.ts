/**
 * Pod workers: everything that turns one desired Pod bound to this node into running containers and
 * reports its status — sandbox, volumes, images, init containers, containers, restarts with
 * crash-loop back-off, probes, graceful termination, adoption after an agent restart.
 *
 * What the integrator wires (`PodWorkerDeps`): an `ObjectLookup` for ConfigMaps and Secrets, the
 * `reportStatus` callback (called only when the status changed), an `EventRecorder`, and optionally
 * `waitForEndpointWithdrawal`. It never talks to the control plane itself, never pulls images and
 * never touches the node's network beyond the sandboxes the network module makes.
 */
export { type ContainerRecord, loadRecords } from "./container-record.js";
export { type BackoffSettings, CrashBackoff, DEFAULT_BACKOFF } from "./crash-backoff.js";
export { EnvError, expand, resolveEnv } from "./env.js";
export { configMapData, type ObjectLookup, secretData } from "./object-lookup.js";
export type { PodContext, PodHook, SandboxNetwork } from "./pod-hooks.js";
export { type PodMetrics, podMetrics } from "./pod-metrics.js";
export { computePodStatus, podPhase } from "./pod-status.js";
export { PodWorker, type PodWorkerDeps } from "./pod-worker.js";
export { directDialer, netnsDialer, type ProbeDialer } from "./probe-dialer.js";
