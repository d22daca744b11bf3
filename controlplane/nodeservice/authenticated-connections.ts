/**
 * The node identity of each open NodeService connection, read from its verified client certificate
 * once, when the TLS handshake completes, instead of on every call: grpc-js answers
 * `getAuthContext()` by having the TLS socket decode the whole certificate again (fingerprints,
 * key, subject), which cost 3–5% of the control plane's CPU under a thousand nodes' reports.
 *
 * grpc-js gives a handler no handle on its connection, only the peer address `call.getPeer()`
 * ("<remote address>:<remote port>"), so connections are found by that. It names exactly one open
 * TCP connection unless two connections to different local addresses of this server share it (a
 * NAT in front of several nodes, a multi-homed server); a call whose peer address is shared, or
 * unknown, or whose connection is already going away, reads its certificate as before. So a call
 * is only ever answered with the identity of its own connection's certificate.
 */
import type { TLSSocket } from "node:tls";
import {
  type CallWithAuth,
  certificateAuthenticator,
  type NodeAuthenticator,
  nodeFromCertificate,
} from "./node-identity.js";

interface Connection {
  socket: TLSSocket;
  node: string;
}

export class AuthenticatedConnections {
  /** Open connections by peer address; more than one entry means the address is ambiguous. */
  private readonly byPeer = new Map<string, Connection[]>();

  constructor(private readonly fallback: NodeAuthenticator = certificateAuthenticator) {}

  /**
   * Records a connection whose handshake is complete; it is forgotten when it closes. Connections
   * without a verified node certificate are not recorded: their calls are refused by `fallback`.
   * Requires a server that refuses renegotiation, so the certificate cannot change afterwards.
   */
  add(socket: TLSSocket): void {
    if (!socket.authorized || !socket.remoteAddress || !socket.remotePort) return;
    let node: string;
    try {
      node = nodeFromCertificate(socket.getPeerCertificate());
    } catch {
      return;
    }
    // The same text grpc-js's getPeer() makes of the same socket.
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    const connection = { socket, node };
    const open = this.byPeer.get(peer);
    if (open) open.push(connection);
    else this.byPeer.set(peer, [connection]);
    socket.once("close", () => {
      const rest = this.byPeer.get(peer)?.filter((c) => c !== connection) ?? [];
      if (rest.length) this.byPeer.set(peer, rest);
      else this.byPeer.delete(peer);
    });
  }

  /** A NodeAuthenticator: the node of the call's connection. */
  readonly authenticate: NodeAuthenticator = (call: CallWithAuth) => {
    const open = this.byPeer.get(call.getPeer());
    const only = open?.length === 1 ? open[0] : undefined;
    if (only && !only.socket.destroyed) return only.node;
    return this.fallback(call);
  };

  /** How many connections are recorded (for tests). */
  get size(): number {
    let n = 0;
    for (const open of this.byPeer.values()) n += open.length;
    return n;
  }
}
