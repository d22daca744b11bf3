import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Client,
  credentials,
  makeGenericClientConstructor,
  Server,
  type ServerUnaryCall,
  type sendUnaryData,
} from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  controlPlaneServerName,
  ensureCa,
  ensureServingCert,
  issueCertificate,
  type KeyPair,
} from "../../foundation/pki/pki.js";
import { AuthenticatedConnections } from "./authenticated-connections.js";
import { listenMutualTls, type MutualTlsListener } from "./mtls-listener.js";
import { certificateAuthenticator } from "./node-identity.js";

const raw = (b: Buffer) => b;
/** A service that answers with the node its caller authenticated as. */
const whoAmI = {
  WhoAmI: {
    path: "/test.Identity/WhoAmI",
    requestStream: false,
    responseStream: false,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw,
  },
};
const IdentityClient = makeGenericClientConstructor(whoAmI, "Identity");

describe("mutual TLS in front of grpc-js", () => {
  let dir: string;
  let ca: KeyPair;
  let server: Server;
  let listener: MutualTlsListener;
  let fallbacks = 0;
  const clients: Client[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mtls-"));
    ca = await ensureCa(dir);
    const serving = await ensureServingCert(dir, ca, { commonName: "kctl-apiserver", hosts: ["127.0.0.1"] });
    const connections = new AuthenticatedConnections((call) => {
      fallbacks++;
      return certificateAuthenticator(call);
    });
    server = new Server();
    server.addService(whoAmI, {
      WhoAmI: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        try {
          callback(null, Buffer.from(connections.authenticate(call)));
        } catch (err) {
          callback(err as Error);
        }
      },
    });
    listener = await listenMutualTls(server, {
      host: "127.0.0.1",
      port: 0,
      caPem: ca.certPem,
      serving,
      connections,
    });
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    listener?.close();
    await new Promise<void>((resolve) => (server ? server.tryShutdown(() => resolve()) : resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  async function clientFor(name: string, signer: KeyPair = ca): Promise<Client> {
    const pair = await issueCertificate(signer, {
      commonName: `system:node:${name}`,
      organization: "system:nodes",
      client: true,
    });
    const creds = credentials.createSsl(
      Buffer.from(ca.certPem),
      Buffer.from(pair.keyPem),
      Buffer.from(pair.certPem),
    );
    const client = new IdentityClient(`127.0.0.1:${listener.port}`, creds, {
      "grpc.ssl_target_name_override": controlPlaneServerName,
    });
    clients.push(client);
    return client;
  }

  function whoIs(client: Client): Promise<string> {
    return new Promise((resolve, reject) =>
      (client as unknown as Record<string, (req: Buffer, opts: object, cb: sendUnaryData<Buffer>) => void>)
        .WhoAmI!(Buffer.alloc(0), { deadline: Date.now() + 5_000 }, (err, res) =>
        err ? reject(err) : resolve(res!.toString()),
      ),
    );
  }

  it("names each client's node from its certificate, read once per connection", async () => {
    const a = await clientFor("a");
    const b = await clientFor("b");
    fallbacks = 0;
    for (let i = 0; i < 3; i++) {
      expect(await whoIs(a)).toBe("a");
      expect(await whoIs(b)).toBe("b");
    }
    // Every call found its connection by grpc-js's peer address: no certificate was read per call.
    expect(fallbacks).toBe(0);
  });

  it("refuses a client whose certificate another CA signed before any handler runs", async () => {
    const rogueCa = await ensureCa(join(dir, "rogue"), "rogue-ca");
    fallbacks = 0;
    await expect(whoIs(await clientFor("a", rogueCa))).rejects.toMatchObject({ code: 14 });
    expect(fallbacks).toBe(0);
  });
});
