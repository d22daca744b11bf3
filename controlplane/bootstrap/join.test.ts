import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { joinCluster } from "../../node-agent/agent/join.js";
import { NodeClient } from "../../node-agent/agent/node-client.js";
import { type ControlPlane, startControlPlane } from "../control-plane.js";
import { caCertHash } from "./join-endpoint.js";

const token = "abcdef.0123456789abcdef";

function get(url: string, bearer: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(url, { headers: { authorization: `Bearer ${bearer}` }, ca }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on("error", reject)
      .end();
  });
}

describe("joining a node with a bootstrap token", () => {
  let dir: string;
  let cp: ControlPlane;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kctl-join-"));
    cp = await startControlPlane({
      stateDir: dir,
      port: 0,
      listenHost: "127.0.0.1",
      dnsPort: 0,
      bootstrapToken: token,
    });
  });
  afterAll(async () => {
    await cp?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("trusts the CA only by its hash, signs the node's CSR, and the certificate opens NodeService", async () => {
    const creds = await joinCluster({
      server: cp.apiUrl,
      token,
      nodeName: "worker-1",
      caCertHash: caCertHash(cp.caPem),
    });
    expect(creds.caPem).toBe(cp.caPem);
    const client = new NodeClient({
      address: creds.nodeServiceAddress,
      caPem: creds.caPem,
      certPem: creds.certPem,
      keyPem: creds.keyPem,
    });
    try {
      const res = await client.call("Register", {
        nodeName: "worker-1",
        capacity: { cpu: "1", memory: "1Gi", pods: "10" },
      });
      expect(res.podCIDR).toMatch(/^10\.244\.\d+\.0\/24$/);
    } finally {
      client.close();
    }
  });

  it("refuses a wrong CA hash, an unknown token, and any API use by a bootstrap token", async () => {
    await expect(
      joinCluster({ server: cp.apiUrl, token, nodeName: "w2", caCertHash: `sha256:${"0".repeat(64)}` }),
    ).rejects.toThrow(/refusing to join/);
    await expect(
      joinCluster({ server: cp.apiUrl, token: "zzzzzz.zzzzzzzzzzzzzzzz", nodeName: "w2", caPem: cp.caPem }),
    ).rejects.toThrow(/HTTP 401/);
    await expect(
      joinCluster({ server: cp.apiUrl, token, nodeName: "Bad_Name", caPem: cp.caPem }),
    ).rejects.toThrow(/nodeName/);
    expect(await get(`${cp.apiUrl}/api/v1/pods`, token, cp.caPem)).toBe(403);
    expect(await get(`${cp.apiUrl}/api/v1/pods`, cp.adminToken, cp.caPem)).toBe(200);
  });
});
