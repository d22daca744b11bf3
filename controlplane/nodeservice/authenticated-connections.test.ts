import { EventEmitter } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createServer, type Server, type TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  controlPlaneServerName,
  ensureCa,
  ensureServingCert,
  issueCertificate,
  type KeyPair,
} from "../../foundation/pki/pki.js";
import { AuthenticatedConnections } from "./authenticated-connections.js";
import { type CallWithAuth, certificateAuthenticator } from "./node-identity.js";

/** What a grpc-js call on `socket` answers (grpc-js builds both from the session's socket). */
function callOn(socket: TLSSocket): CallWithAuth {
  return {
    getPeer: () => `${socket.remoteAddress}:${socket.remotePort}`,
    getAuthContext: () => ({ transportSecurityType: "ssl", sslPeerCertificate: socket.getPeerCertificate() }),
  };
}

describe("AuthenticatedConnections over real TLS connections", () => {
  let dir: string;
  let ca: KeyPair;
  let server: Server;
  let connections: AuthenticatedConnections;
  let fallbacks = 0;
  const accepted: TLSSocket[] = [];
  const clients: TLSSocket[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "authconn-"));
    ca = await ensureCa(dir);
    const serving = await ensureServingCert(dir, ca, { commonName: "kctl-apiserver", hosts: ["127.0.0.1"] });
    connections = new AuthenticatedConnections((call) => {
      fallbacks++;
      return certificateAuthenticator(call);
    });
    server = createServer(
      {
        ca: ca.certPem,
        key: serving.keyPem,
        cert: serving.certPem,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (socket) => {
        connections.add(socket);
        accepted.push(socket);
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });

  afterAll(async () => {
    for (const c of clients) c.destroy();
    await new Promise((resolve) => server?.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  /** Connects with a certificate for `commonName`, and returns the server's side of the connection. */
  async function connectAs(commonName: string, organization = "system:nodes"): Promise<TLSSocket> {
    const pair = await issueCertificate(ca, { commonName, organization, client: true });
    const before = accepted.length;
    const client = connect({
      host: "127.0.0.1",
      port: (server.address() as AddressInfo).port,
      ca: ca.certPem,
      cert: pair.certPem,
      key: pair.keyPem,
      servername: controlPlaneServerName,
    });
    clients.push(client);
    await new Promise<void>((resolve, reject) => {
      client.once("secureConnect", resolve);
      client.once("error", reject);
    });
    while (accepted.length === before) await new Promise((r) => setTimeout(r, 5));
    return accepted[accepted.length - 1]!;
  }

  it("forgets a closed connection; a call from its address reads the certificate again", async () => {
    const c = await connectAs("system:node:c");
    const size = connections.size;
    const call = callOn(c);
    clients[clients.length - 1]!.destroy();
    await new Promise((resolve) => c.once("close", resolve));
    expect(connections.size).toBe(size - 1);
    fallbacks = 0;
    expect(() => connections.authenticate(call)).toThrow();
    expect(fallbacks).toBe(1);
  });

  it("refuses a connection whose CA-signed certificate is not a node's", async () => {
    const admin = await connectAs("admin", "system:masters");
    expect(() => connections.authenticate(callOn(admin))).toThrow(/node client certificate/);
    const unnamed = await connectAs("system:node:d", "developers");
    expect(() => connections.authenticate(callOn(unnamed))).toThrow(/node client certificate/);
  });

  it("answers from each call's certificate when two open connections share a peer address", async () => {
    const a = await connectAs("system:node:a");
    const b = await connectAs("system:node:b");
    // Two connections from one NAT address and port to two addresses of this server.
    const twin = (real: TLSSocket) =>
      Object.assign(new EventEmitter(), {
        authorized: true,
        destroyed: false,
        remoteAddress: "192.0.2.1",
        remotePort: 40000,
        getPeerCertificate: () => real.getPeerCertificate(),
      }) as unknown as TLSSocket;
    const [ta, tb] = [twin(a), twin(b)];
    connections.add(ta);
    connections.add(tb);
    const viaNat = (real: TLSSocket): CallWithAuth => ({ ...callOn(real), getPeer: () => "192.0.2.1:40000" });
    fallbacks = 0;
    expect(connections.authenticate(viaNat(a))).toBe("a");
    expect(connections.authenticate(viaNat(b))).toBe("b");
    expect(fallbacks).toBe(2);
    ta.emit("close");
    expect(connections.authenticate(viaNat(b))).toBe("b");
    expect(fallbacks).toBe(2);
    tb.emit("close");
  });
});
