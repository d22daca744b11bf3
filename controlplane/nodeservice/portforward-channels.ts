/**
 * Port-forward in the WebSocket channel form (`v4.channel.k8s.io`, as the kubelet's
 * portforward/websocket.go serves it and @kubernetes/client-node speaks it): the ports come in
 * the `ports` query parameter, and each gets two channels, 2i for data and 2i+1 for errors. The
 * server's first message on each channel is the port, two bytes little-endian. One connection
 * per port is dialed at once; the WebSocket closes when all of them have ended.
 */
import type { WebSocket } from "ws";
import type { ApiError } from "../../foundation/api/errors.js";
import type { PodPort } from "./pod-port.js";
import type { PortDialer } from "./portforward-spdy.js";

export function servePortForwardChannels(ws: WebSocket, ports: readonly number[], dial: PortDialer): void {
  const send = (channel: number, data: Buffer, done?: () => void) => {
    if (ws.readyState !== ws.OPEN) return done?.();
    ws.send(Buffer.concat([Buffer.from([channel]), data]), () => done?.());
  };
  let open = ports.length;
  const conns: PodPort[] = [];
  let pending = 0;
  ports.forEach((port, i) => {
    const portBytes = Buffer.alloc(2);
    portBytes.writeUInt16LE(port);
    send(2 * i, portBytes);
    send(2 * i + 1, portBytes);
  });
  ports.forEach((port, i) => {
    conns.push(
      dial(port, {
        data: (chunk) => new Promise<void>((resolve) => send(2 * i, chunk, resolve)),
        end: (err?: ApiError) => {
          if (err) send(2 * i + 1, Buffer.from(err.message));
          if (--open === 0 && ws.readyState === ws.OPEN) ws.close(1000);
        },
      }),
    );
  });
  ws.on("message", (raw: Buffer, isBinary: boolean) => {
    const bytes = isBinary ? raw : Buffer.from(raw);
    const channel = bytes[0];
    if (channel === undefined || channel % 2 !== 0 || channel / 2 >= conns.length) return;
    // Hold the client while a pod's window is spent.
    if (pending++ === 0) ws.pause();
    void conns[channel / 2]!.write(bytes.subarray(1)).then(() => {
      if (--pending === 0) ws.resume();
    });
  });
  ws.on("close", () => {
    for (const c of conns) c.cancel();
  });
}
