/**
 * Hollow nodes: node agents without containers, for control-plane reconcile tests and scheduler
 * scale benchmarks only; a pod they report Running runs nowhere. Each is a real NodeService client:
 * its own client certificate (`CN=system:node:<name>, O=system:nodes`, signed by the cluster CA),
 * the agent's own `NodeLink` for Register, lease renewal and the WatchPods stream, and
 * ReportPodStatus / FinalizePodDeletion for its pods. It reports each bound pod Running, then Ready
 * after a delay unless a rule says the pod never becomes Ready, and finalizes a pod once the
 * control plane marks it for graceful deletion. `kill()` makes it go silent like a dead machine.
 *
 * Many hollow nodes share one process: their status calls go through one shared `CallLimiter` so a
 * burst of thousands of pods does not open thousands of calls at once. Each node keeps its own gRPC
 * channel because the node's identity is its TLS client certificate (one identity per connection).
 */

import { definedFields } from "../../foundation/api/object.js";
import type { KeyPair } from "../../foundation/pki/pki.js";
import { type Clock, realClock, type Timer } from "../../foundation/util/clock.js";
import { formatIPv4, nthAddress, parseCidr } from "../../foundation/util/ipv4.js";
import { rfc3339 } from "../../foundation/util/time.js";
import { tracer } from "../../foundation/util/trace.js";
import { NodeClient } from "../../node-agent/agent/node-client.js";
import { NodeLink, type PodHost } from "../../node-agent/agent/node-link.js";
import type { Pod } from "../../proto/gen/api.js";

const trace = tracer("hollow-node");

/** Bounds how many calls run at once across every hollow node that shares it. */
export class CallLimiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

export interface HollowNodeOptions {
  name: string;
  /** host:port of the control plane's NodeService. */
  address: string;
  caPem: string;
  /** This node's client certificate and key. */
  credentials: KeyPair;
  /** Node capacity as Kubernetes quantities. Default 4 CPUs, 16Gi, 110 pods. */
  capacity?: Record<string, string>;
  labels?: Record<string, string>;
  /** Delay from seeing a bound pod to reporting it Running. Default 0. */
  runningAfterMs?: number;
  /** Delay from Running to Ready. Default 0 (reported together). */
  readyAfterMs?: number;
  /** Whether a pod ever becomes Ready; default every pod does. See `neverReadyImages`. */
  becomesReady?: (pod: Pod) => boolean;
  /** Delay between seeing a pod's deletionTimestamp and finalizing it. Default 0. */
  terminateAfterMs?: number;
  /** Called when a pod bound to this node first arrives on its stream (benchmarks time bindings by it). */
  onPodArrived?: (pod: Pod) => void;
  limiter?: CallLimiter;
  clock?: Clock;
}

/** The part of a hollow node's options a fleet shares. */
export type HollowNodeBehaviour = Omit<
  HollowNodeOptions,
  "name" | "address" | "caPem" | "credentials" | "limiter"
>;

/** A readiness rule: pods with a container running one of `images` never become Ready. */
export function neverReadyImages(images: readonly string[]): (pod: Pod) => boolean {
  const bad = new Set(images);
  return (pod) => !(pod.spec?.containers ?? []).some((c) => bad.has(c.image ?? ""));
}

interface Tracked {
  pod: Pod;
  timers: Timer[];
  finalizing: boolean;
}

export class HollowNode implements PodHost {
  readonly name: string;
  private readonly client: NodeClient;
  private readonly link: NodeLink;
  private readonly clock: Clock;
  private readonly limiter: CallLimiter;
  private readonly pods = new Map<string, Tracked>();
  private podCidr: string | undefined;
  private nextIp = 2;
  private killed = false;
  private registered!: () => void;
  /** Resolves on the first successful registration. */
  readonly ready: Promise<void>;

  constructor(private readonly opts: HollowNodeOptions) {
    this.name = opts.name;
    this.clock = opts.clock ?? realClock;
    this.limiter = opts.limiter ?? new CallLimiter(16);
    this.ready = new Promise((resolve) => {
      this.registered = resolve;
    });
    this.client = new NodeClient({
      address: opts.address,
      caPem: opts.caPem,
      certPem: opts.credentials.certPem,
      keyPem: opts.credentials.keyPem,
    });
    const capacity = opts.capacity ?? { cpu: "4", memory: "16Gi", pods: "110" };
    this.link = new NodeLink({
      client: this.client,
      clock: this.clock,
      pods: this,
      registration: {
        nodeName: opts.name,
        addresses: [{ type: "Hostname", address: opts.name }],
        capacity,
        allocatable: capacity,
        labels: { "kctl.io/hollow": "true", ...opts.labels },
        kernelVersion: "hollow",
        localStorageDir: "",
        osImage: "hollow node (no containers)",
        agentVersion: "hollow",
      },
      onRegistered: (res) => {
        this.podCidr = res.podCIDR;
        this.registered();
      },
    });
  }

  /** Starts registering and following pods; await `ready` for the first registration. */
  start(): this {
    this.link.start();
    return this;
  }

  /** The pods this node currently holds (bound to it and not yet finalized). */
  get podNames(): string[] {
    return [...this.pods.values()].map((t) => `${t.pod.metadata?.namespace}/${t.pod.metadata?.name}`);
  }

  /** Goes silent like a machine that died: no lease renewals, no stream, no status. */
  kill(): void {
    if (this.killed) return;
    this.killed = true;
    this.link.stop();
    for (const t of this.pods.values()) for (const timer of t.timers) timer.cancel();
    this.pods.clear();
    this.client.close();
  }

  // PodHost: what the NodeLink delivers from the WatchPods stream.

  sync(pods: Pod[]): void {
    const keep = new Set(pods.map(uidOf));
    for (const [uid, t] of this.pods) if (!keep.has(uid)) this.forget(uid, t);
    for (const pod of pods) this.upsert(pod);
  }

  upsert(pod: Pod): void {
    if (this.killed) return;
    const uid = uidOf(pod);
    let t = this.pods.get(uid);
    if (!t) {
      t = { pod, timers: [], finalizing: false };
      this.pods.set(uid, t);
      this.opts.onPodArrived?.(pod);
      if (!pod.metadata?.deletionTimestamp) this.startPod(t);
    }
    t.pod = pod;
    if (pod.metadata?.deletionTimestamp && !t.finalizing) this.terminate(t);
  }

  remove(pod: Pod): void {
    const t = this.pods.get(uidOf(pod));
    if (t) this.forget(uidOf(pod), t);
  }

  async fence(reason: string): Promise<void> {
    trace(this.name, "fenced:", reason);
    for (const [uid, t] of this.pods) this.forget(uid, t);
  }

  private forget(uid: string, t: Tracked): void {
    for (const timer of t.timers) timer.cancel();
    this.pods.delete(uid);
  }

  private startPod(t: Tracked): void {
    const runningAfter = this.opts.runningAfterMs ?? 0;
    const readyAfter = this.opts.readyAfterMs ?? 0;
    const willBeReady = this.opts.becomesReady?.(t.pod) ?? true;
    const ip = this.allocateIp();
    const startedAt = () => rfc3339(this.clock.now());
    t.timers.push(
      this.clock.setTimer(runningAfter, () => {
        const since = startedAt();
        const readyNow = willBeReady && readyAfter === 0;
        void this.report(t, runningStatus(t.pod, ip, since, readyNow));
        if (willBeReady && readyAfter > 0) {
          t.timers.push(
            this.clock.setTimer(readyAfter, () => void this.report(t, runningStatus(t.pod, ip, since, true))),
          );
        }
      }),
    );
  }

  private terminate(t: Tracked): void {
    t.finalizing = true;
    for (const timer of t.timers) timer.cancel();
    t.timers = [
      this.clock.setTimer(this.opts.terminateAfterMs ?? 0, () => {
        const m = t.pod.metadata ?? {};
        void this.call("FinalizePodDeletion", {
          namespace: m.namespace ?? "",
          name: m.name ?? "",
          uid: m.uid ?? "",
        });
      }),
    ];
  }

  private async report(t: Tracked, status: NonNullable<Pod["status"]>): Promise<void> {
    if (t.finalizing || this.pods.get(uidOf(t.pod)) !== t) return;
    const m = t.pod.metadata ?? {};
    await this.call("ReportPodStatus", {
      namespace: m.namespace ?? "",
      name: m.name ?? "",
      uid: m.uid ?? "",
      statusJson: Buffer.from(JSON.stringify(status)),
    });
  }

  private async call(
    method: "ReportPodStatus" | "FinalizePodDeletion",
    request: Parameters<NodeClient["call"]>[1],
  ): Promise<void> {
    if (this.killed) return;
    try {
      await this.limiter.run(() => this.client.call(method, request as never));
    } catch (err) {
      // The pod may be gone or replaced meanwhile; the stream will tell us what is current.
      trace(this.name, method, "failed:", String(err));
    }
  }

  private allocateIp(): string {
    if (!this.podCidr) return "";
    const cidr = parseCidr(this.podCidr);
    const ip = formatIPv4(nthAddress(cidr, this.nextIp));
    this.nextIp = this.nextIp >= 250 ? 2 : this.nextIp + 1;
    return ip;
  }
}

function uidOf(pod: Pod): string {
  return pod.metadata?.uid ?? `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}

/** The status an agent would report for a pod whose containers all started at `since`. */
function runningStatus(pod: Pod, ip: string, since: string, ready: boolean): NonNullable<Pod["status"]> {
  const readyStatus = ready ? "True" : "False";
  const notReady = ready ? {} : { reason: "ContainersNotReady", message: "containers with unready status" };
  return {
    phase: "Running",
    ...(ip ? { podIP: ip, podIPs: [{ ip }] } : {}),
    startTime: since,
    conditions: [
      { type: "PodScheduled", status: "True", lastTransitionTime: since },
      { type: "Initialized", status: "True", lastTransitionTime: since },
      { type: "ContainersReady", status: readyStatus, lastTransitionTime: since, ...notReady },
      { type: "Ready", status: readyStatus, lastTransitionTime: since, ...notReady },
    ],
    containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
      ...definedFields({ name: c.name, image: c.image }),
      imageID: "",
      containerID: `hollow://${pod.metadata?.uid}/${c.name}`,
      ready,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: since } },
    })),
  };
}
