import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureCa, issueCertificate } from "../../foundation/pki/pki.js";
import { ensureEtcdPki, etcd3Credentials } from "./etcd-pki.js";
import { type EtcdProcess, freePort, startEtcdProcess } from "./etcd-process.js";

/** GET `url` over TLS with the given material; resolves the status or rejects with the TLS error. */
function get(url: string, tls: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer }) {
  return new Promise<number>((resolve, reject) => {
    const req = request(url, { ...tls, timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

describe("etcd with TLS (an attacker's view)", () => {
  let dir: string;
  let etcd: EtcdProcess;
  let peerUrl: string;
  let ca: Buffer;
  const pkiDir = () => join(dir, "pki");

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "etcd-tls-"));
    const tls = await ensureEtcdPki(pkiDir(), []);
    ca = await readFile(tls.caFile);
    const peerPort = await freePort();
    peerUrl = `https://127.0.0.1:${peerPort}/members`;
    etcd = await startEtcdProcess({ dataDir: join(dir, "etcd"), unsafeNoFsync: true, peerPort, tls });
  }, 60_000);
  afterAll(async () => {
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("serves a client holding the apiserver's etcd client certificate", async () => {
    expect(etcd.endpoint).toMatch(/^https:\/\//);
    const tls = await ensureEtcdPki(pkiDir(), []);
    const client = new Etcd3({ hosts: etcd.endpoint, credentials: await etcd3Credentials(tls.client) });
    try {
      await client.put("/secret").value("v");
      expect(await client.get("/secret").string()).toBe("v");
    } finally {
      client.close();
    }
  });

  it("refuses plain HTTP on the client port", async () => {
    const port = new URL(etcd.endpoint).port;
    const res = await fetch(`http://127.0.0.1:${port}/v3/kv/range`, {
      method: "POST",
      body: JSON.stringify({ key: Buffer.from("/secret").toString("base64") }),
    }).then(
      (r) => r.status,
      () => "refused",
    );
    // etcd answers plain HTTP on a TLS port with 400 and nothing else.
    expect(res === "refused" || res === 400).toBe(true);
  });

  it("refuses a TLS client without a certificate, on the client and the peer port", async () => {
    await expect(get(`${etcd.endpoint}/v3/kv/range`, { ca })).rejects.toThrow();
    await expect(get(peerUrl, { ca })).rejects.toThrow();
  });

  it("refuses a certificate from the cluster CA (a node's), which must not open etcd", async () => {
    const clusterCa = await ensureCa(join(dir, "cluster-ca"));
    const node = await issueCertificate(clusterCa, {
      commonName: "system:node:evil",
      organization: "system:nodes",
      client: true,
    });
    await expect(
      get(`${etcd.endpoint}/health`, { ca, cert: node.certPem, key: node.keyPem }),
    ).rejects.toThrow();
    await expect(get(peerUrl, { ca, cert: node.certPem, key: node.keyPem })).rejects.toThrow();
  });
});
