/**
 * `pods/portforward`: the upgrade handler that picks the wire form the client asked for.
 *
 * - WebSocket, subprotocol `SPDY/3.1+portforward.k8s.io`: SPDY tunneled in binary messages, what
 *   kubectl 1.31+ tries first (client-go's tunneling dialer);
 * - `Upgrade: SPDY/3.1` with `X-Stream-Protocol-Version: portforward.k8s.io`: plain SPDY, kubectl's
 *   fallback and older kubectls;
 * - WebSocket, subprotocol `v4.channel.k8s.io`: channels per port (`?ports=80&ports=443`), as
 *   @kubernetes/client-node speaks it.
 *
 * Each forwarded connection reaches `localhost:PORT` inside the pod's network namespace on its
 * node (so servers bound to 127.0.0.1 there work), through the node's tunnel (pod-port.ts).
 * Refusals before the upgrade (unknown subprotocol, bad ports) are answered as a Status.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { createWebSocketStream, type WebSocket, WebSocketServer } from "ws";
import { ApiError } from "../../foundation/api/errors.js";
import type { UpgradeHandler } from "../apiserver/index.js";
import type { Registry } from "../registry/index.js";
import { PodPort } from "./pod-port.js";
import { podNode } from "./pod-streams.js";
import { servePortForwardChannels } from "./portforward-channels.js";
import { type PortDialer, parsePort, portForwardProtocol, servePortForwardSpdy } from "./portforward-spdy.js";
import type { TunnelRegistry } from "./tunnels.js";

const spdyTunnel = `SPDY/3.1+${portForwardProtocol}`;
const channels = "v4.channel.k8s.io";
export const portForwardSubprotocols = [spdyTunnel, channels] as const;

function pickSubprotocol(offered: readonly string[]): string | undefined {
  return portForwardSubprotocols.find((p) => offered.includes(p));
}

function headerList(value: string | string[] | undefined): string[] {
  return (Array.isArray(value) ? value : [value ?? ""]).flatMap((v) => v.split(",")).map((v) => v.trim());
}

/** The `ports` query parameter (repeated or comma-separated), each 1..65535. */
export function parsePortsQuery(query: URLSearchParams): number[] {
  const raw = query.getAll("ports").flatMap((p) => p.split(","));
  if (raw.length === 0)
    throw new ApiError("BadRequest", "query parameter ports: at least one port is required");
  return raw.map((p) => {
    const port = parsePort(p.trim());
    if (port === undefined)
      throw new ApiError(
        "BadRequest",
        `query parameter ports: invalid port ${JSON.stringify(p)}, must be 1-65535`,
      );
    return port;
  });
}

export function portForwardHandler(registry: Registry, tunnels: TunnelRegistry): UpgradeHandler {
  // `SPDY/3.1+portforward.k8s.io` is not a token as RFC 6455 wants (the "/"), and ws refuses to
  // parse it; kubectl sends it all the same. So the subprotocol is picked here, the header is
  // hidden from ws, and the answer added to its handshake response.
  const wss = new WebSocketServer({ noServer: true });
  const chosen = new WeakMap<IncomingMessage, string>();
  wss.on("headers", (headers: string[], req: IncomingMessage) => {
    const protocol = chosen.get(req);
    if (protocol) headers.push(`Sec-WebSocket-Protocol: ${protocol}`);
  });
  return async (req: IncomingMessage, socket: Duplex, head: Buffer, target) => {
    const upgrade = (req.headers.upgrade ?? "").toLowerCase();
    const protocol =
      upgrade === "websocket" ? pickSubprotocol(headerList(req.headers["sec-websocket-protocol"])) : "";
    if (upgrade === "websocket" && !protocol) {
      throw new ApiError(
        "BadRequest",
        `unsupported WebSocket subprotocol ${JSON.stringify(req.headers["sec-websocket-protocol"] ?? "")}; port-forward speaks ${portForwardSubprotocols.join(", ")}`,
      );
    }
    if (upgrade !== "websocket" && upgrade !== "spdy/3.1")
      throw new ApiError(
        "BadRequest",
        `port-forward needs Upgrade: websocket or SPDY/3.1, got ${JSON.stringify(upgrade)}`,
      );
    if (
      upgrade === "spdy/3.1" &&
      !headerList(req.headers["x-stream-protocol-version"]).includes(portForwardProtocol)
    ) {
      throw new ApiError(
        "Forbidden",
        `unable to upgrade: unable to negotiate protocol: client supports ${JSON.stringify(req.headers["x-stream-protocol-version"] ?? "")}, server accepts [${portForwardProtocol}]`,
      );
    }
    const ports = protocol === channels ? parsePortsQuery(target.query) : [];
    const { pod, node } = await podNode(registry, target);
    const dial: PortDialer = (port, sink) =>
      new PodPort(
        tunnels,
        {
          node,
          namespace: pod.metadata.namespace ?? "",
          pod: pod.metadata.name ?? "",
          uid: pod.metadata.uid ?? "",
          port,
        },
        sink,
      );
    if (upgrade === "spdy/3.1") {
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${portForwardProtocol}\r\n\r\n`,
      );
      if (head.length > 0) socket.unshift(head);
      servePortForwardSpdy(socket, dial);
      return;
    }
    chosen.set(req, protocol!);
    delete req.headers["sec-websocket-protocol"];
    const ws = await new Promise<WebSocket>((resolve) => wss.handleUpgrade(req, socket, head, resolve));
    if (protocol === channels) servePortForwardChannels(ws, ports, dial);
    else servePortForwardSpdy(createWebSocketStream(ws), dial);
  };
}
