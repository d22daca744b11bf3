/**
 * The agent's link to the control plane: registers the node, renews its lease, follows the stream
 * of pods bound to it, and hands them to the pod host. A broken link is retried with capped
 * exponential backoff while pods keep running; on every reconnect the stream starts with the full
 * set of the node's pods, so nothing depends on having seen every change.
 *
 * Fencing: if the lease cannot be renewed for longer than the node eviction timeout the control
 * plane gave at registration, the control plane will have replaced this node's pods elsewhere, so
 * the agent stops its own pods rather than let two copies run.
 */
import type { ClientReadableStream } from "@grpc/grpc-js";
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
  /** Stops every pod because this node can no longer prove it is alive (fencing). */
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
  private failures = 0;
  private lastRenewal: number;
  private settings: RegisterResponse | undefined;
  private fenced = false;

  constructor(private readonly opts: NodeLinkOptions) {
    this.clock = opts.clock ?? realClock;
    this.lastRenewal = this.clock.now();
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
    this.stream?.cancel();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    try {
      const res = await this.opts.client.call("Register", this.opts.registration);
      this.settings = res;
      this.lastRenewal = this.clock.now();
      this.fenced = false;
      await this.opts.onRegistered?.(res);
      trace("registered", this.opts.registration.nodeName, res.podCIDR);
      this.scheduleRenewal();
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
    this.leaseTimer?.cancel();
    const base = this.opts.retryBaseMs ?? 500;
    const delay = Math.min(base * 2 ** this.failures, this.opts.retryMaxMs ?? reconnectMaxMs);
    this.failures++;
    this.retryTimer = this.clock.setTimer(delay, () => void this.connect());
    this.checkFence();
  }

  private scheduleRenewal(): void {
    this.leaseTimer?.cancel();
    const period = Math.max(1, (this.settings?.leaseDurationSeconds ?? 40) / 4) * 1000;
    this.leaseTimer = this.clock.setTimer(period, () => void this.renew());
  }

  private async renew(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.opts.client.call("RenewLease", { nodeName: this.opts.registration.nodeName });
      this.lastRenewal = this.clock.now();
    } catch (err) {
      trace("lease renewal failed", String(err));
      this.checkFence();
    }
    if (!this.stopped) this.scheduleRenewal();
  }

  private checkFence(): void {
    const timeout = (this.settings?.nodeEvictionTimeoutSeconds ?? 0) * 1000;
    if (!timeout || this.fenced) return;
    const silent = this.clock.now() - this.lastRenewal;
    if (silent > timeout) {
      this.fenced = true;
      void this.opts.pods.fence(
        `lease not renewed for ${Math.round(silent / 1000)}s (eviction timeout ${timeout / 1000}s)`,
      );
    }
  }
}
