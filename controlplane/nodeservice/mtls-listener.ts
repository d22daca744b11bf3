/**
 * Terminates mutual TLS in front of a grpc-js Server: accepts only clients whose certificate the
 * cluster CA signed, records each connection's node identity once, at the handshake
 * (AuthenticatedConnections), and hands the verified connection to grpc-js through its connection
 * injector. grpc-js then adds no TLS of its own, but its calls still see the TLS socket
 * (`getAuthContext()`, `getPeer()`), so the per-call certificate path keeps working.
 */
import { constants, X509Certificate } from "node:crypto";
import type { AddressInfo } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { type Server, ServerCredentials } from "@grpc/grpc-js";
import type { KeyPair } from "../../foundation/pki/pki.js";
import { publicKeyHash } from "../../foundation/pki/pki.js";
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
  /** Whether a client key (`publicKeyHash`) was revoked: such a client is disconnected. */
  keyRevoked?: (keyHash: string) => boolean;
}

export interface MutualTlsListener {
  port: number;
  /** Stops accepting; the connections already handed over close with the grpc-js Server. */
  close(): void;
  /** Closes every open connection whose client key is now revoked (call when the list changes). */
  closeRevoked(): void;
}

function clientKeyHash(socket: TLSSocket): string | undefined {
  const raw = socket.getPeerCertificate()?.raw;
  return raw ? publicKeyHash(new X509Certificate(raw).publicKey) : undefined;
}

export async function listenMutualTls(server: Server, opts: MutualTlsOptions): Promise<MutualTlsListener> {
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  // Open connections and their client keys, to close those whose key is revoked later.
  const open = new Map<TLSSocket, string>();
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
      const keyHash = opts.keyRevoked ? clientKeyHash(socket) : undefined;
      if (keyHash && opts.keyRevoked?.(keyHash)) {
        trace("revoked key from", socket.remoteAddress, keyHash);
        socket.destroy();
        return;
      }
      if (keyHash) {
        open.set(socket, keyHash);
        socket.once("close", () => open.delete(socket));
      }
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
  return {
    port,
    close: () => listener.close(),
    closeRevoked: () => {
      for (const [socket, keyHash] of open) if (opts.keyRevoked?.(keyHash)) socket.destroy();
    },
  };
}
