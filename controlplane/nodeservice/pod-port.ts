/**
 * One TCP connection to a port of a pod, through its node's tunnel: the part of port-forward that
 * every wire form (SPDY, SPDY in a WebSocket, WebSocket channels) shares.
 *
 * Flow control is by credit, per connection and per direction: at most `portForwardWindow` bytes
 * may be sent and not yet acknowledged. Toward the pod, `write` resolves only while the agent is
 * within the window (it acknowledges what the pod's socket took); from the pod, each chunk is
 * acknowledged once the client's side took it, and the agent stops reading the pod's socket while
 * its window is spent. So neither a fast pod nor a fast client grows memory anywhere in between.
 */
import { ApiError } from "../../foundation/api/errors.js";
import type { OpenStream, TunnelRegistry } from "./tunnels.js";

export const portForwardWindow = 1 << 20;

export interface PodPortSink {
  /** Pod output for the client; a returned promise settles when the client side took it. */
  data(chunk: Buffer): undefined | Promise<void>;
  /** The pod's side is done (it closed, or never opened: then `error` says why). Called once. */
  end(error?: ApiError): void;
}

export interface PodPortTarget {
  node: string;
  namespace: string;
  pod: string;
  uid: string;
  port: number;
}

export class PodPort {
  private inFlight = 0;
  private waiters: Array<() => void> = [];
  private stream: OpenStream | undefined;

  /** Opens the connection; a node without a tunnel ends the sink at once with the error. */
  constructor(tunnels: TunnelRegistry, target: PodPortTarget, sink: PodPortSink) {
    const prefix = `error forwarding port ${target.port} to pod ${target.namespace}/${target.pod}, uid ${target.uid}`;
    let ended = false;
    const end = (err?: ApiError) => {
      if (ended) return;
      ended = true;
      this.release();
      sink.end(err && new ApiError(err.reason, `${prefix}: ${err.message}`));
    };
    try {
      this.stream = tunnels.open(
        target.node,
        { portForward: { namespace: target.namespace, pod: target.pod, port: target.port } },
        {
          stdout: (chunk) => {
            const taken = sink.data(chunk);
            if (taken) void taken.then(() => this.stream?.ack(chunk.length));
            else this.stream?.ack(chunk.length);
          },
          stderr: () => undefined,
          end: (_code, err) => end(err),
          ack: (bytes) => {
            this.inFlight -= bytes;
            if (this.inFlight <= portForwardWindow) this.release();
          },
        },
      );
    } catch (err) {
      end(err instanceof ApiError ? err : new ApiError("InternalError", String(err)));
    }
  }

  /** Sends client bytes to the pod; resolves when more may be sent. */
  write(data: Buffer): Promise<void> {
    if (!this.stream) return Promise.resolve();
    this.stream.stdin(data);
    this.inFlight += data.length;
    if (this.inFlight <= portForwardWindow) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The client half-closed: the pod's socket gets EOF and may still answer. */
  closeWrite(): void {
    this.stream?.stdin(undefined);
  }

  /** The client went away: the agent closes the pod's connection. */
  cancel(): void {
    this.stream?.cancel();
    this.stream = undefined;
    this.release();
  }

  private release(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }
}
