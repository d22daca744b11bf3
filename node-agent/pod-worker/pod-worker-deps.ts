/**
 * What a pod worker (and its hooks) is given by the agent: the node's runtime, images, network and
 * cgroups, the control plane's status and event paths, and the clock.
 */
import type { Clock } from "../../foundation/util/clock.js";
import type { Pod, PodStatus } from "../../proto/gen/api.js";
import type { PodCgroups } from "../cgroups/pod-cgroups.js";
import type { PodNetwork } from "../network/index.js";
import type { ImageStore } from "../runtime/images/index.js";
import type { LogRotation } from "../runtime/oci/container-config.js";
import type { RuntimeClient } from "../runtime/oci/runtime-client.js";
import type { ImagePuller } from "../runtime/registry/image-puller.js";
import type { ConcurrencyLimit } from "../util/concurrency-limit.js";
import type { BackoffPolicy } from "./container-record.js";
import type { ObjectLookup } from "./object-lookup.js";
import type { PodMetrics } from "./pod-metrics.js";
import type { NodeSecurity } from "./security-context.js";

export type EventType = "Normal" | "Warning";

export interface PodWorkerDeps {
  nodeName: string;
  hostIP: string;
  /** The agent's state dir; pods live in `<stateDir>/pods/<uid>`. */
  stateDir: string;
  /** Where this node's pods live in the cgroup tree. */
  cgroups: PodCgroups;
  runtime: RuntimeClient;
  images: ImageStore;
  /** Pulls images by the containers' imagePullPolicy; without it, only images on the node run. */
  imagePuller?: ImagePuller;
  network: PodNetwork;
  /** The node's security policy and what it owns (user namespace ranges, seccomp profiles). */
  security: NodeSecurity;
  lookup: ObjectLookup;
  /**
   * Bounds the local steps of pod starts on this host, which all pods' workers share: the sandbox,
   * the rootfs mount and the container start. Pulls and probes run outside it, so a slow image or
   * probe never holds back another pod's start.
   */
  startLimit: ConcurrencyLimit;
  clock: Clock;
  /** Sends a status through the control plane's status path. */
  reportStatus(pod: Pod, status: PodStatus): Promise<void>;
  /** Finishes a graceful deletion once everything is stopped (delete with grace 0). */
  finalizeDeletion(pod: Pod): Promise<void>;
  event(pod: Pod, type: EventType, reason: string, message: string): void;
  /**
   * Waits (at most until `deadline`, epoch ms) for the pod to leave every Service's endpoints, so
   * no new connection reaches it after SIGTERM. Resolves at once when nothing needs waiting for.
   */
  waitForEndpointsWithdrawn?(pod: Pod, deadline: number): Promise<void>;
  /** Variables every container gets before its own env (Service discovery variables). */
  serviceEnv?(namespace: string): Map<string, string>;
  backoff?: BackoffPolicy;
  metrics?: PodMetrics;
  /** Container log rotation on this node; the runtime's defaults (10 MiB × 5, the kubelet's) when absent. */
  logRotation?: LogRotation;
  /** How often the loop wakes to check containers and probes. Default 1 s. */
  resyncMs?: number;
  /** The resolv.conf pods with `dnsPolicy: Default` get a copy of. Default /etc/resolv.conf. */
  nodeResolvConf?: string;
  /** How often ConfigMap and Secret volumes are written again from their objects. Default 10 s. */
  volumeRefreshMs?: number;
}
