/**
 * Connection upgrades (WebSocket) on resource paths, which Node's HTTP server hands over as a raw
 * socket instead of a request/response pair: the request is authenticated and routed as any other,
 * then given to the handler of its subresource (pods/exec). Anything refused before the upgrade is
 * answered on the socket as an HTTP response carrying the Status, as kube-apiserver does.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { ApiError } from "../../foundation/api/errors.js";
import type { ResourceInfo } from "../../foundation/api/resources.js";
import { toApiError } from "./http-io.js";
import { parsePath, type ResourceRoute } from "./request-path.js";

export interface UpgradeTarget {
  info: ResourceInfo;
  namespace: string | undefined;
  name: string;
  query: URLSearchParams;
}

/** Takes over an upgrade request's socket; what it throws before upgrading is answered as a Status. */
export type UpgradeHandler = (
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  target: UpgradeTarget,
) => Promise<void>;

/**
 * Serves an upgrade request. `admit` authenticates the caller and authorizes the route (it throws
 * to refuse), as the request pipeline does for every other request: an upgrade is no way around it.
 */
export async function serveUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  handlers: Partial<Record<string, UpgradeHandler>>,
  admit: (req: IncomingMessage, route: ResourceRoute, path: string) => void,
): Promise<void> {
  try {
    const url = new URL(req.url ?? "/", "http://apiserver");
    const route = parsePath(url.pathname);
    const r = route.kind === "resource" ? route.route : undefined;
    const handler = r?.name && r.subresource ? handlers[r.subresource] : undefined;
    if (!r || !handler) {
      throw new ApiError("NotFound", `the server does not upgrade connections on ${url.pathname}`);
    }
    admit(req, r, url.pathname);
    await handler(req, socket, head, {
      info: r.info,
      namespace: r.namespace,
      name: r.name!,
      query: url.searchParams,
    });
  } catch (err) {
    refuseUpgrade(socket, toApiError(err, `${req.method} ${req.url} (upgrade)`));
  }
}

/** Answers an upgrade request with the error's Status instead of switching protocols. */
export function refuseUpgrade(socket: Duplex, err: ApiError): void {
  if (!socket.writable) return;
  const body = JSON.stringify(err.toStatus());
  socket.end(
    `HTTP/1.1 ${err.code} ${err.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
