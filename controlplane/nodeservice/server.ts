/**
 * Serves NodeService over gRPC with mutual TLS: the server presents the apiserver certificate and
 * accepts only clients with a certificate signed by the cluster CA (node certificates). A client
 * with no certificate or an unknown one fails the TLS handshake and reaches no handler. Calls learn
 * their node from their connection, whose certificate was read once (see mtls-listener.ts).
 */
import { Server } from "@grpc/grpc-js";
import type { KeyPair } from "../../foundation/pki/pki.js";
import { nodeServiceDefinition } from "../../proto/node-service.js";
import { AuthenticatedConnections } from "./authenticated-connections.js";
import { listenMutualTls } from "./mtls-listener.js";
import { type NodeServiceDeps, nodeServiceImplementation } from "./node-service.js";

export interface NodeServiceServerOptions extends NodeServiceDeps {
  host: string;
  /** 0 picks a free port. */
  port: number;
  caPem: string;
  serving: KeyPair;
  /** Whether a node key was revoked: its connections are refused and closed. */
  keyRevoked?: (keyHash: string) => boolean;
}

export interface NodeServiceServer {
  port: number;
  close(): Promise<void>;
  /** Closes the open connections of keys revoked since they connected. */
  closeRevoked(): void;
}

export async function startNodeServiceServer(opts: NodeServiceServerOptions): Promise<NodeServiceServer> {
  const connections = new AuthenticatedConnections();
  const server = new Server({ "grpc.keepalive_time_ms": 20_000, "grpc.keepalive_permit_without_calls": 1 });
  server.addService(
    nodeServiceDefinition,
    nodeServiceImplementation({ ...opts, authenticate: connections.authenticate }),
  );
  const listener = await listenMutualTls(server, { ...opts, connections });
  return {
    port: listener.port,
    closeRevoked: () => listener.closeRevoked(),
    close: () =>
      new Promise<void>((resolve) => {
        listener.close();
        const timer = setTimeout(() => server.forceShutdown(), 2_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
