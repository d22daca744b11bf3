/**
 * Terminates mutual TLS in front of a grpc-js Server: accepts only clients whose certificate the
 * cluster CA signed, records each connection's node identity once, at the handshake
 * (AuthenticatedConnections), and hands the verified connection to grpc-js through its connection
 * injector. grpc-js then adds no TLS of its own, but its calls still see the TLS socket
 * (`getAuthContext()`, `getPeer()`), so the per-call certificate path keeps working.
 */
import { constants } from "node:crypto";
import type { AddressInfo } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { type Server, ServerCredentials } from "@grpc/grpc-js";
import type { KeyPair } from "../../foundation/pki/pki.js";
import { tracer } from "../../foundation/util/trace.js";
import type { AuthenticatedConnections } from "./authenticated-connections.js";

const trace = tracer("nodeservice");

export interface MutualTlsOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  caPem: string;
  serving: KeyPair;
  connections: AuthenticatedConnections;
}

export interface MutualTlsListener {
  port: number;
  /** Stops accepting; the connections already handed over close with the grpc-js Server. */
  close(): void;
}

export async function listenMutualTls(server: Server, opts: MutualTlsOptions): Promise<MutualTlsListener> {
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const listener = createTlsServer(
    {
      ca: opts.caPem,
      key: opts.serving.keyPem,
      cert: opts.serving.certPem,
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ["h2"],
      // A connection's identity is read once, so its certificate must not change after the handshake.
      secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
    },
    (socket: TLSSocket) => {
      socket.on("error", (err) => trace("connection from", socket.remoteAddress, err.message));
      opts.connections.add(socket);
      injector.injectConnection(socket);
    },
  );
  listener.on("tlsClientError", (err, socket) => trace("handshake from", socket.remoteAddress, err.message));
  const port = await new Promise<number>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(opts.port, opts.host, () => {
      listener.off("error", reject);
      resolve((listener.address() as AddressInfo).port);
    });
  });
  return { port, close: () => listener.close() };
}
