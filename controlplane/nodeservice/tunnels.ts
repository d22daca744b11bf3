/**
 * The control plane's end of each agent's Tunnel stream: requests that must reach a node (logs,
 * exec, attach, port-forward) are sent down the node's tunnel as numbered streams, and the agent's frames for a stream
 * come back to whoever opened it. An agent that reconnects replaces its old tunnel; streams of the
 * old one end with an error.
 */

import { ApiError } from "../../foundation/api/errors.js";
import type {
  AttachRequest,
  ExecRequest,
  LogsRequest,
  PortForwardRequest,
  TerminalSize,
  TunnelFrame,
} from "../../proto/gen/node.js";

export interface TunnelPeer {
  send(frame: TunnelFrame): void;
}

export interface StreamHandlers {
  stdout(data: Buffer): void;
  stderr(data: Buffer): void;
  /** The stream's end: exit code for exec, or an error (`reason: message`). Called once. */
  end(exitCode: number, error?: ApiError): void;
  /** The agent consumed this many bytes of what was sent on the stream (flow control). */
  ack?(bytes: number): void;
}

export interface OpenStream {
  /** Sends stdin to an exec stream; `undefined` closes stdin. */
  stdin(data: Buffer | undefined): void;
  /** Abandons the stream (the client went away). */
  cancel(): void;
  /** Tells the agent this many bytes of its output were delivered (flow control). */
  ack(bytes: number): void;
  /** Sends a TTY exec's new window size. */
  resize(size: TerminalSize): void;
}

interface Tunnel {
  peer: TunnelPeer;
  streams: Map<number, StreamHandlers>;
  nextId: number;
}

export class TunnelRegistry {
  private readonly tunnels = new Map<string, Tunnel>();

  /** Records the node's tunnel; returns the function that removes it when the stream ends. */
  attach(nodeName: string, peer: TunnelPeer): () => void {
    this.detachTunnel(nodeName, "the node reconnected");
    const tunnel: Tunnel = { peer, streams: new Map(), nextId: 1 };
    this.tunnels.set(nodeName, tunnel);
    return () => {
      if (this.tunnels.get(nodeName) === tunnel) this.detachTunnel(nodeName, "the node disconnected");
    };
  }

  /** Delivers a frame the agent sent. */
  receive(nodeName: string, frame: TunnelFrame): void {
    const stream = this.tunnels.get(nodeName)?.streams.get(frame.streamId);
    if (!stream) return;
    if (frame.frame === "stdout" && frame.stdout) stream.stdout(frame.stdout);
    else if (frame.frame === "stderr" && frame.stderr) stream.stderr(frame.stderr);
    else if (frame.frame === "ack" && frame.ack) stream.ack?.(frame.ack);
    else if (frame.frame === "end" && frame.end) {
      this.tunnels.get(nodeName)?.streams.delete(frame.streamId);
      const { exitCode, error, reason } = frame.end;
      stream.end(exitCode, error ? new ApiError(asReason(reason), error) : undefined);
    }
  }

  /** Opens a stream on the node. Throws ServiceUnavailable when the node has no tunnel. */
  open(
    nodeName: string,
    request:
      | { logs: LogsRequest }
      | { exec: ExecRequest }
      | { attach: AttachRequest }
      | { portForward: PortForwardRequest },
    handlers: StreamHandlers,
  ): OpenStream {
    const tunnel = this.tunnels.get(nodeName);
    if (!tunnel) throw new ApiError("ServiceUnavailable", `node "${nodeName}" is not connected`);
    const streamId = tunnel.nextId++;
    tunnel.streams.set(streamId, handlers);
    tunnel.peer.send({ streamId, ...request } as TunnelFrame);
    return {
      stdin: (data) => {
        if (!tunnel.streams.has(streamId)) return;
        tunnel.peer.send(
          data === undefined
            ? ({ streamId, stdinClosed: true } as TunnelFrame)
            : ({ streamId, stdin: data } as TunnelFrame),
        );
      },
      cancel: () => {
        if (tunnel.streams.delete(streamId))
          tunnel.peer.send({ streamId, end: { exitCode: 0, error: "", reason: "" } });
      },
      ack: (bytes) => {
        if (tunnel.streams.has(streamId)) tunnel.peer.send({ streamId, ack: bytes } as TunnelFrame);
      },
      resize: (size) => {
        if (tunnel.streams.has(streamId)) tunnel.peer.send({ streamId, resize: size } as TunnelFrame);
      },
    };
  }

  private detachTunnel(nodeName: string, why: string): void {
    const tunnel = this.tunnels.get(nodeName);
    if (!tunnel) return;
    this.tunnels.delete(nodeName);
    for (const stream of tunnel.streams.values()) stream.end(-1, new ApiError("ServiceUnavailable", why));
  }
}

function asReason(reason: string): ConstructorParameters<typeof ApiError>[0] {
  const known = [
    "NotFound",
    "BadRequest",
    "Forbidden",
    "InternalError",
    "ServiceUnavailable",
    "Timeout",
  ] as const;
  return (known as readonly string[]).includes(reason) ? (reason as (typeof known)[number]) : "InternalError";
}
