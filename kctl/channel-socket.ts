/**
 * The client side of the Kubernetes channel protocol over WebSocket, shared by `kctl exec`
 * (`v5.channel.k8s.io`) and `kctl port-forward` (`v4.channel.k8s.io`): the first byte of each
 * binary message is its channel. Sending resolves once the message is written, so a caller that
 * awaits it before reading more holds its source to the connection's pace.
 */
import type WebSocket from "ws";

export class ChannelSocket {
  /** Resolves when the connection has closed, whoever closed it. */
  readonly closed: Promise<void>;

  constructor(private readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      if (ws.readyState === ws.CLOSED) resolve();
      else ws.once("close", () => resolve());
    });
    ws.on("error", () => undefined);
  }

  /** The subprotocol the server picked. */
  get protocol(): string {
    return this.ws.protocol;
  }

  send(channel: number, data: Uint8Array = new Uint8Array()): Promise<void> {
    if (this.ws.readyState !== this.ws.OPEN) return Promise.resolve();
    return new Promise((resolve) =>
      this.ws.send(Buffer.concat([Buffer.from([channel]), data]), () => resolve()),
    );
  }

  /** Calls `handler` with each message's channel and payload, in order. */
  onMessage(handler: (channel: number, data: Buffer) => void): void {
    this.ws.on("message", (raw: Buffer, isBinary: boolean) => {
      const bytes = isBinary ? raw : Buffer.from(raw);
      if (bytes.length > 0) handler(bytes[0]!, bytes.subarray(1));
    });
  }

  /** Stops reading from the server (its sends back up) until `resume`. */
  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  close(): void {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(1000);
  }
}
