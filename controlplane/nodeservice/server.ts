/**
 * Serves NodeService over gRPC with mutual TLS: the server presents the apiserver certificate and
 * accepts only clients with a certificate signed by the cluster CA (node certificates). A client
 * with no certificate or an unknown one fails the TLS handshake and reaches no handler.
 */
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { nodeServiceDefinition } from "../../proto/node-service.js";
import type { KeyPair } from "../pki/pki.js";
import { type NodeServiceDeps, nodeServiceImplementation } from "./node-service.js";

export interface NodeServiceServerOptions extends NodeServiceDeps {
  host: string;
  /** 0 picks a free port. */
  port: number;
  caPem: string;
  serving: KeyPair;
}

export interface NodeServiceServer {
  port: number;
  close(): Promise<void>;
}

export async function startNodeServiceServer(opts: NodeServiceServerOptions): Promise<NodeServiceServer> {
  const server = new Server({ "grpc.keepalive_time_ms": 20_000, "grpc.keepalive_permit_without_calls": 1 });
  server.addService(nodeServiceDefinition, nodeServiceImplementation(opts));
  const creds = ServerCredentials.createSsl(
    Buffer.from(opts.caPem),
    [{ private_key: Buffer.from(opts.serving.keyPem), cert_chain: Buffer.from(opts.serving.certPem) }],
    true,
  );
  const address = opts.host.includes(":") ? `[${opts.host}]:${opts.port}` : `${opts.host}:${opts.port}`;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, creds, (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), 2_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
