import { X509Certificate } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, request, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  caCertHash,
  clusterInfoKubeconfig,
  clusterInfoPath,
  jwsKeyPrefix,
  nodeCertificatePath,
} from "../../foundation/bootstrap/join-protocol.js";
import { detachedJws } from "../../foundation/bootstrap/jws.js";
import { bootstrapTokenSecret } from "../../foundation/bootstrap/token-format.js";
import {
  ensureCa,
  ensureServingCert,
  generateKey,
  issueCertificate,
  makeCsr,
} from "../../foundation/pki/pki.js";
import { requestRenewedCertificate } from "../../node-agent/agent/cert-rotation.js";
import { joinCluster } from "../../node-agent/agent/join.js";
import { NodeClient } from "../../node-agent/agent/node-client.js";
import { type ControlPlane, startControlPlane } from "../control-plane.js";

const token = "abcdef.0123456789abcdef";

interface Reply {
  status: number;
  body: string;
}

function send(
  url: string,
  opts: { bearer?: string; ca?: string; method?: string; body?: unknown },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    request(
      url,
      {
        method: opts.method ?? "GET",
        headers: {
          ...(opts.bearer ? { authorization: `Bearer ${opts.bearer}` } : {}),
          ...(payload ? { "content-type": "application/json" } : {}),
        },
        ...(opts.ca ? { ca: opts.ca } : { rejectUnauthorized: false }),
      },
      (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    )
      .on("error", reject)
      .end(payload);
  });
}

const get = async (url: string, bearer: string, ca: string) => (await send(url, { bearer, ca })).status;

describe("joining a node with a bootstrap token", () => {
  let dir: string;
  let cp: ControlPlane;
  const clients: NodeClient[] = [];
  const nodeClient = (creds: { caPem: string; certPem: string; keyPem: string }) => {
    const c = new NodeClient({ address: cp.nodeServiceAddress, ...creds });
    clients.push(c);
    return c;
  };

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
    for (const c of clients) c.close();
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
    const res = await nodeClient(creds).call("Register", {
      nodeName: "worker-1",
      capacity: { cpu: "1", memory: "1Gi", pods: "10" },
    });
    expect(res.podCIDR).toMatch(/^10\.244\.\d+\.0\/24$/);
  });

  it("serves cluster-info without credentials, signed with each live token as kubeadm does", async () => {
    const res = await send(`${cp.apiUrl}${clusterInfoPath}`, { ca: cp.caPem });
    expect(res.status).toBe(200);
    const info = JSON.parse(res.body) as { data: Record<string, string> };
    expect(info.data[`${jwsKeyPrefix}abcdef`]).toBe(
      detachedJws(info.data.kubeconfig!, "abcdef", "0123456789abcdef"),
    );
    expect(JSON.stringify(info)).not.toContain("0123456789abcdef");
  });

  it("refuses a wrong CA hash, an unknown token, and any API use by a bootstrap token", async () => {
    await expect(
      joinCluster({ server: cp.apiUrl, token, nodeName: "w2", caCertHash: `sha256:${"0".repeat(64)}` }),
    ).rejects.toThrow(/refusing to join/);
    await expect(
      joinCluster({
        server: cp.apiUrl,
        token: "zzzzzz.zzzzzzzzzzzzzzzz",
        nodeName: "w2",
        caCertHash: caCertHash(cp.caPem),
      }),
    ).rejects.toThrow(/not signed with token "zzzzzz"/);
    await expect(
      joinCluster({ server: cp.apiUrl, token: "zzzzzz.zzzzzzzzzzzzzzzz", nodeName: "w2", caPem: cp.caPem }),
    ).rejects.toThrow(/HTTP 401/);
    await expect(
      joinCluster({ server: cp.apiUrl, token, nodeName: "Bad_Name", caPem: cp.caPem }),
    ).rejects.toThrow(/nodeName/);
    expect(await get(`${cp.apiUrl}/api/v1/pods`, token, cp.caPem)).toBe(403);
    expect(await get(`${cp.apiUrl}/api/v1/pods`, cp.adminToken, cp.caPem)).toBe(200);
  });

  it("spends a counted token: a one-use token joins one node, then no more", async () => {
    const once = "onceid.0123456789abcdef";
    const created = await send(`${cp.apiUrl}/api/v1/namespaces/kube-system/secrets`, {
      method: "POST",
      bearer: cp.adminToken,
      ca: cp.caPem,
      body: bootstrapTokenSecret({ token: once, ttlSeconds: 600, maxUses: 1 }),
    });
    expect(created.status).toBe(201);
    let joined = false;
    for (let i = 0; i < 100 && !joined; i++) {
      joined = await joinCluster({
        server: cp.apiUrl,
        token: once,
        nodeName: "once-1",
        caPem: cp.caPem,
      }).then(
        () => true,
        async () => {
          await new Promise((r) => setTimeout(r, 20)); // the authenticator's cache has not seen it yet
          return false;
        },
      );
    }
    expect(joined).toBe(true);
    await expect(
      joinCluster({ server: cp.apiUrl, token: once, nodeName: "once-2", caPem: cp.caPem }),
    ).rejects.toThrow(/HTTP 40[13]/);
  });

  describe("certificate renewal", () => {
    const renewBody = (csr: string, who: { certPem: string; keyPem: string } | { bearer: string }) =>
      new Promise<Reply>((resolve, reject) => {
        request(
          `${cp.apiUrl}${nodeCertificatePath}`,
          {
            method: "POST",
            ca: cp.caPem,
            headers: {
              "content-type": "application/json",
              ...("bearer" in who ? { authorization: `Bearer ${who.bearer}` } : {}),
            },
            ...("certPem" in who ? { cert: who.certPem, key: who.keyPem } : {}),
          },
          (res) => {
            let body = "";
            res.on("data", (d: Buffer) => (body += d.toString()));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          },
        )
          .on("error", reject)
          .end(JSON.stringify({ csr }));
      });

    it("renews a node's year-long certificate for its own key, which then opens NodeService", async () => {
      const creds = await joinCluster({ server: cp.apiUrl, token, nodeName: "renewer", caPem: cp.caPem });
      const life = (pem: string) => {
        const c = new X509Certificate(pem);
        return (Date.parse(c.validTo) - Date.parse(c.validFrom)) / 86_400_000;
      };
      expect(life(creds.certPem)).toBe(365);
      await nodeClient(creds).call("Register", { nodeName: "renewer", capacity: { cpu: "1" } });
      const identity = { ...creds, nodeName: "renewer", server: cp.apiUrl };
      const renewed = await requestRenewedCertificate(identity);
      expect(renewed).not.toBe(creds.certPem);
      expect(new X509Certificate(renewed).subject).toContain("CN=system:node:renewer");
      expect(life(renewed)).toBe(365);
      const res = await nodeClient({ ...creds, certPem: renewed }).call("Register", { nodeName: "renewer" });
      expect(res.podCIDR).toMatch(/^10\.244\./);
    });

    it("refuses a CSR for another key, a bootstrap token, and a node that was deleted", async () => {
      const creds = await joinCluster({ server: cp.apiUrl, token, nodeName: "renewer-2", caPem: cp.caPem });
      await nodeClient(creds).call("Register", { nodeName: "renewer-2", capacity: { cpu: "1" } });
      const other = await makeCsr(await generateKey(), "system:node:renewer-2");
      const swapped = await renewBody(other, creds);
      expect(swapped.status).toBe(403);
      expect(swapped.body).toMatch(/a renewal keeps the node's key/);
      const bootstrap = await renewBody(await makeCsr(creds.keyPem, "x"), { bearer: token });
      expect(bootstrap.status).toBe(403);
      expect(bootstrap.body).toMatch(/is not a node's client certificate/);
      await send(`${cp.apiUrl}/api/v1/nodes/renewer-2`, {
        method: "DELETE",
        bearer: cp.adminToken,
        ca: cp.caPem,
      });
      await expect(
        requestRenewedCertificate({ ...creds, nodeName: "renewer-2", server: cp.apiUrl }),
      ).rejects.toThrow(/HTTP 404: node "renewer-2" does not exist; join again/);
    });
  });

  describe("an attacker holding a join token", () => {
    it("cannot join under the name of a node that exists; the node itself may, with its own key", async () => {
      await expect(
        joinCluster({ server: cp.apiUrl, token, nodeName: "worker-1", caCertHash: caCertHash(cp.caPem) }),
      ).rejects.toThrow(/HTTP 403: node "worker-1" exists/);
      const first = await joinCluster({ server: cp.apiUrl, token, nodeName: "worker-3", caPem: cp.caPem });
      await nodeClient(first).call("Register", { nodeName: "worker-3", capacity: { cpu: "1" } });
      const again = await joinCluster({
        server: cp.apiUrl,
        token,
        nodeName: "worker-3",
        caPem: cp.caPem,
        keyPem: first.keyPem,
      });
      expect(again.certPem).toContain("BEGIN CERTIFICATE");
    });

    it("cannot use a certificate for an existing node made with another key: no Register, no tunnel", async () => {
      // What the join endpoint handed out before names were bound to keys.
      const ca = await ensureCa(join(dir, "pki"));
      const stolen = await issueCertificate(ca, {
        commonName: "system:node:worker-1",
        organization: "system:nodes",
        client: true,
      });
      const attacker = nodeClient({ caPem: cp.caPem, ...stolen });
      await expect(attacker.call("Register", { nodeName: "worker-1" })).rejects.toMatchObject({
        reason: "Forbidden",
      });
      const tunnel = attacker.tunnel();
      const outcome = await new Promise<string>((resolve) => {
        tunnel.on("error", (err: { code?: number }) => resolve(`error ${err.code}`));
        tunnel.on("data", () => {});
        setTimeout(() => resolve("attached"), 3_000);
      });
      tunnel.cancel();
      expect(outcome).toBe("error 7");
    });
  });

  describe("a man in the middle with another CA", () => {
    let mitm: Server;
    let mitmUrl: string;
    const seen: { headers: Record<string, unknown>; body: string }[] = [];
    let relayReal = false;

    beforeAll(async () => {
      const rogueCa = await ensureCa(join(dir, "rogue"), "rogue");
      const serving = await ensureServingCert(join(dir, "rogue"), rogueCa, {
        commonName: "kctl-apiserver",
        hosts: ["127.0.0.1"],
      });
      mitm = createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
        let body = "";
        req.on("data", (d: Buffer) => (body += d.toString()));
        req.on("end", async () => {
          seen.push({ headers: { ...req.headers }, body });
          if (req.url === clusterInfoPath && relayReal) {
            // The genuine document, signature and all, served over the attacker's TLS.
            const real = await send(`${cp.apiUrl}${clusterInfoPath}`, { ca: cp.caPem });
            res.writeHead(200, { "content-type": "application/json" }).end(real.body);
          } else if (req.url === clusterInfoPath) {
            // A forged document pointing at the attacker's CA, signed with a token guess.
            const kubeconfig = clusterInfoKubeconfig(mitmUrl, rogueCa.certPem);
            const data = {
              kubeconfig,
              [`${jwsKeyPrefix}abcdef`]: detachedJws(kubeconfig, "abcdef", "guessguessguess0"),
            };
            res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ data }));
          } else {
            res.writeHead(201, { "content-type": "application/json" }).end("{}");
          }
        });
      });
      await new Promise<void>((resolve) => mitm.listen(0, "127.0.0.1", resolve));
      mitmUrl = `https://127.0.0.1:${(mitm.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      mitm?.closeAllConnections();
      await new Promise((r) => mitm?.close(r));
    });

    const leaked = () =>
      seen.some((r) => JSON.stringify(r.headers).includes(token) || r.body.includes(token));

    it("gets no token from a joiner when it forges cluster-info", async () => {
      relayReal = false;
      seen.length = 0;
      const err = await joinCluster({
        server: mitmUrl,
        token,
        nodeName: "victim",
        caCertHash: caCertHash(cp.caPem),
      }).catch((e: Error) => e);
      expect(seen.length).toBeGreaterThan(0);
      expect(leaked()).toBe(false);
      expect(String(err)).toMatch(/bad signature/);
    });

    it("gets no token from a joiner when it relays the genuine cluster-info", async () => {
      relayReal = true;
      seen.length = 0;
      const err = await joinCluster({
        server: mitmUrl,
        token,
        nodeName: "victim",
        caCertHash: caCertHash(cp.caPem),
      }).catch((e: Error) => e);
      expect(seen.length).toBeGreaterThan(0);
      expect(leaked()).toBe(false);
      expect(String(err)).toMatch(/not signed by the cluster CA/);
    });
  });
});
