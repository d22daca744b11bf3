import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  controlPlaneServerName,
  ensureCa,
  issueCertificate,
  type KeyPair,
} from "../../foundation/pki/pki.js";
import { nodeServiceDefinition } from "../../proto/node-service.js";
import { NodeClient } from "./node-client.js";

/** Three NodeServices on loopback, as three control planes; each counts the renewals it answered. */
describe("node client across several control planes", () => {
  let dir: string;
  let ca: KeyPair;
  let client: KeyPair;
  const servers: Server[] = [];
  const answered: number[] = [0, 0, 0];
  let address = "";

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kctl-node-client-"));
    ca = await ensureCa(dir);
    const serving = await issueCertificate(ca, { commonName: controlPlaneServerName, hosts: ["127.0.0.1"] });
    client = await issueCertificate(ca, { commonName: "system:node:n1", client: true });
    const ports: number[] = [];
    for (const i of [0, 1, 2]) {
      const server = new Server();
      server.addService(nodeServiceDefinition, {
        RenewLease: (_call: ServerUnaryCall<unknown, unknown>, done: sendUnaryData<unknown>) => {
          answered[i]!++;
          done(null, {});
        },
      });
      const creds = ServerCredentials.createSsl(
        Buffer.from(ca.certPem),
        [{ private_key: Buffer.from(serving.keyPem), cert_chain: Buffer.from(serving.certPem) }],
        true,
      );
      ports.push(
        await new Promise<number>((resolve, reject) =>
          server.bindAsync("127.0.0.1:0", creds, (err, port) => (err ? reject(err) : resolve(port))),
        ),
      );
      servers.push(server);
    }
    address = ports.map((p) => `127.0.0.1:${p}`).join(",");
  });

  afterAll(async () => {
    for (const s of servers) s.forceShutdown();
    await rm(dir, { recursive: true, force: true });
  });

  it("spreads agents over the control planes instead of all taking the first address", async () => {
    // Agents that all picked the first address lose their streams together when that control
    // plane dies, and reconnect together to the next.
    const clients = Array.from(
      { length: 24 },
      () => new NodeClient({ address, caPem: ca.certPem, certPem: client.certPem, keyPem: client.keyPem }),
    );
    try {
      for (const c of clients) await c.call("RenewLease", { nodeName: "n1" });
    } finally {
      for (const c of clients) c.close();
    }
    expect(answered.reduce((a, b) => a + b)).toBe(24);
    // With a random order per agent, all 24 on one of three is a chance of 3 in 3^24.
    expect(answered.filter((n) => n > 0).length).toBeGreaterThan(1);
  });
});
