/**
 * The agent's link to the control plane: registers the node, renews its lease, follows the stream
 * of pods bound to it, and hands them to the pod host. A broken link is retried with capped
 * exponential backoff while pods keep running; on every reconnect the stream starts with the full
 * set of the node's pods, so nothing depends on having seen every change.
 *
 * Fencing: the control plane force-deletes a silent node's pods no earlier than G + E after the
 * last renewal it saw (grace and eviction, given at registration), so the agent stops its own
 * pods with SIGKILL once F = G + E − margin has passed since the last renewal that succeeded
 * (`controlplane/api/node-timing.ts`). It counts from when that renewal was sent, which is before
 * the control plane wrote it, so the agent's clock never runs behind the control plane's. A
 * renewal still in flight when F comes is waited for: a starved agent whose call gets through
 * has not lost its node. Once a renewal succeeds again, the pod stream is restarted and the
 * node's pods come back from its full sync.
 */
import type { ClientReadableStream } from "@grpc/grpc-js";
import { fenceAfterMs, renewPeriodMs } from "../../foundation/api/node-timing.js";
import { type Clock, realClock, type Timer } from "../../foundation/util/clock.js";
import { tracer } from "../../foundation/util/trace.js";
import type { Pod } from "../../proto/gen/api.js";
import type { ObjectEvent, RegisterRequest, RegisterResponse } from "../../proto/gen/node.js";
import type { NodeClient } from "./node-client.js";

const trace = tracer("agent");

/**
 * Longest wait between reconnects to the control plane: short enough that pods see their control
 * plane again within seconds of it coming back, long enough not to hammer it while it is down.
 */
export const reconnectMaxMs = 5_000;

/** What the link drives: the agent's set of pod workers. */
export interface PodHost {
  /** The complete set of pods bound to this node; pods missing from it are stopped. */
  sync(pods: Pod[]): void;
  upsert(pod: Pod): void;
  remove(pod: Pod): void;
  /** Kills every pod at once because this node can no longer prove it is alive (fencing). */
  fence(reason: string): Promise<void>;
}

export interface NodeLinkOptions {
  client: NodeClient;
  registration: RegisterRequest;
  pods: PodHost;
  clock?: Clock;
  /** First retry delay after a failure; doubles up to `retryMaxMs`. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Called after each successful registration (the podCIDR and cluster settings). */
  onRegistered?(res: RegisterResponse): void | Promise<void>;
}

export class NodeLink {
  private readonly clock: Clock;
  private stopped = false;
  private stream: ClientReadableStream<ObjectEvent> | undefined;
  private leaseTimer: Timer | undefined;
  private retryTimer: Timer | undefined;
  private fenceTimer: Timer | undefined;
  private failures = 0;
  /** When the last renewal (or registration) that succeeded was sent. */
  private lastRenewal = 0;
  private renewing = false;
  private settings: RegisterResponse | undefined;
  private fenced = false;

  constructor(private readonly opts: NodeLinkOptions) {
    this.clock = opts.clock ?? realClock;
  }

  /** The settings from the last registration, once registered. */
  get registered(): RegisterResponse | undefined {
    return this.settings;
  }

  start(): void {
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.leaseTimer?.cancel();
    this.retryTimer?.cancel();
    this.fenceTimer?.cancel();
    this.stream?.cancel();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    try {
      const sent = this.clock.now();
      const res = await this.opts.client.call("Register", this.opts.registration);
      this.settings = res;
      // The full sync of the new stream brings the pods back.
      this.fenced = false;
      this.renewed(sent);
      // Renewals start now, not after the node's setup below: on a starved host that setup (pod
      // network, proxy, routes) can outlast the fence, and the agent would stop its own pods.
      this.scheduleRenewal();
      await this.opts.onRegistered?.(res);
      trace("registered", this.opts.registration.nodeName, res.podCIDR);
      this.watch();
      this.failures = 0;
    } catch (err) {
      trace("register failed", String(err));
      this.retry();
    }
  }

  private watch(): void {
    const stream = this.opts.client.watchPods({ nodeName: this.opts.registration.nodeName });
    this.stream = stream;
    const decode = (e: ObjectEvent) => e.objectsJson.map((b) => JSON.parse(b.toString()) as Pod);
    stream.on("data", (e: ObjectEvent) => {
      if (e.type === "SYNC") this.opts.pods.sync(decode(e));
      else if (e.type === "DELETED") for (const pod of decode(e)) this.opts.pods.remove(pod);
      else for (const pod of decode(e)) this.opts.pods.upsert(pod);
    });
    const ended = (why: string) => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      trace("pod stream ended", why);
      this.retry();
    };
    stream.on("error", (err: Error) => ended(err.message));
    stream.on("end", () => ended("end"));
  }

  private retry(): void {
    if (this.stopped) return;
    const base = this.opts.retryBaseMs ?? 500;
    const delay = Math.min(base * 2 ** this.failures, this.opts.retryMaxMs ?? reconnectMaxMs);
    this.failures++;
    this.retryTimer = this.clock.setTimer(delay, () => void this.connect());
    // Renewals go on while the stream reconnects: they are unary calls that reach whichever
    // control plane answers, so losing the one under the stream is not losing the lease (every
    // agent fenced its pods when a killed control plane held all their streams and their
    // reconnects queued up behind each other on a loaded host). Each failed attempt looks at the
    // fence too, for the time before the first registration, when no renewal runs.
    if (!this.renewing) this.checkFence();
  }

  private scheduleRenewal(): void {
    this.leaseTimer?.cancel();
    this.leaseTimer = this.clock.setTimer(this.renewPeriod(), () => void this.renew());
  }

  private renewPeriod(): number {
    return renewPeriodMs(this.settings?.leaseDurationSeconds ?? 40);
  }

  private async renew(): Promise<void> {
    if (this.stopped) return;
    const sent = this.clock.now();
    this.renewing = true;
    try {
      // One period at most: a call still hanging when the fence is due delays it by this much,
      // which the fence margin covers.
      await this.opts.client.call(
        "RenewLease",
        { nodeName: this.opts.registration.nodeName },
        this.renewPeriod(),
      );
      this.renewing = false;
      this.renewed(sent);
      if (this.fenced) {
        // Alive again after a fence: a new stream's full sync brings the pods back.
        this.fenced = false;
        this.stream?.cancel();
      }
    } catch (err) {
      this.renewing = false;
      trace("lease renewal failed", String(err));
      this.checkFence();
    }
    if (!this.stopped) this.scheduleRenewal();
  }

  /** A renewal sent at `sent` succeeded: the fence is due F after it. */
  private renewed(sent: number): void {
    this.lastRenewal = Math.max(this.lastRenewal, sent);
    this.armFence();
  }

  private armFence(): void {
    this.fenceTimer?.cancel();
    const fenceMs = this.fenceAfter();
    if (fenceMs === undefined) return;
    this.fenceTimer = this.clock.setTimer(this.lastRenewal + fenceMs - this.clock.now(), () => {
      // A renewal under way decides: checkFence runs again if it fails.
      if (!this.renewing) this.checkFence();
    });
  }

  private fenceAfter(): number | undefined {
    const s = this.settings;
    if (!s?.nodeEvictionTimeoutSeconds || !s.leaseDurationSeconds) return undefined;
    return fenceAfterMs(s.leaseDurationSeconds, s.nodeEvictionTimeoutSeconds);
  }

  private checkFence(): void {
    const fenceMs = this.fenceAfter();
    if (fenceMs === undefined || this.fenced || this.stopped) return;
    const silent = this.clock.now() - this.lastRenewal;
    // A timer may fire a little before the wall clock says it is due (they are different clocks),
    // and while the pod stream is down no renewal runs to look again: wait out the rest.
    if (silent < fenceMs) {
      this.armFence();
      return;
    }
    this.fenced = true;
    void this.opts.pods.fence(
      `lease not renewed for ${Math.round(silent / 1000)}s (fence at ${fenceMs / 1000}s)`,
    );
  }
}
