/**
 * Port-forward in the form kubectl speaks (`portforward.k8s.io` over SPDY/3.1, plain or tunneled
 * in a WebSocket): per connection the client opens two streams carrying the same `requestid` and
 * `port` headers, `streamtype: error` and `streamtype: data`. Once both are there the pod's port is
 * dialed; the data stream carries the bytes both ways, and the error stream carries, if the
 * connection fails, one message, then closes (kubectl prints it as "an error occurred forwarding").
 * As the kubelet does, a client without `requestid` pairs a data stream with the error stream
 * opened just before it.
 */
import type { Duplex } from "node:stream";
import type { ApiError } from "../../foundation/api/errors.js";
import type { PodPort, PodPortSink } from "./pod-port.js";
import { SpdySession, type SpdyStream } from "./spdy-session.js";

export const portForwardProtocol = "portforward.k8s.io";

/** Dials the pod's port for one forwarded connection. */
export type PortDialer = (port: number, sink: PodPortSink) => PodPort;

interface Pair {
  data?: SpdyStream;
  error?: SpdyStream;
}

/** Parses a port header: 1..65535, decimal. */
export function parsePort(value: string | undefined): number | undefined {
  if (!value || !/^\d{1,5}$/.test(value)) return undefined;
  const port = Number(value);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** Serves one port-forward session on `socket` until the client leaves. */
export function servePortForwardSpdy(socket: Duplex, dial: PortDialer): SpdySession {
  const pairs = new Map<string, Pair>();
  const session = new SpdySession(socket, (stream) => {
    const type = stream.header("streamtype");
    if (type !== "data" && type !== "error") {
      stream.reset();
      return;
    }
    const requestId = stream.header("requestid") ?? String(type === "error" ? stream.id : stream.id - 2);
    const pair = pairs.get(requestId) ?? {};
    if (pair[type]) {
      stream.reset();
      return;
    }
    pair[type] = stream;
    pairs.set(requestId, pair);
    if (pair.data && pair.error) {
      pairs.delete(requestId);
      forward(session, pair.data, pair.error, dial);
    }
  });
  return session;
}

function forward(session: SpdySession, data: SpdyStream, error: SpdyStream, dial: PortDialer): void {
  const fail = (message: string) => {
    error.write(Buffer.from(message));
    error.end();
    data.end();
  };
  const port = parsePort(data.header("port"));
  if (port === undefined) {
    fail(`invalid port ${JSON.stringify(data.header("port") ?? "")}: must be a number from 1 to 65535`);
    return;
  }
  const conn = dial(port, {
    data: (chunk) => (data.write(chunk) ? undefined : session.drained()),
    end: (err?: ApiError) => {
      if (err) fail(err.message);
      else {
        error.end();
        data.end();
      }
    },
  });
  data.onData = (chunk) => conn.write(chunk);
  data.onEnd = () => conn.closeWrite();
  data.onReset = () => conn.cancel();
  error.onReset = () => conn.cancel();
}
