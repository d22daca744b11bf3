/**
 * Joining a cluster with a bootstrap token, like `kubeadm join`: the node learns the cluster CA
 * (trusting it only if it matches `--ca-cert-hash`, or a CA file it was given), makes its own key
 * and CSR, and has the control plane sign it as `system:node:<name>`. The key never leaves the node.
 */
import { X509Certificate } from "node:crypto";
import { request } from "node:https";
import type { TLSSocket } from "node:tls";
import type { ClusterInfo, JoinResponse } from "../../controlplane/bootstrap/join-endpoint.js";
import { caCertHash, clusterInfoPath, joinPath } from "../../controlplane/bootstrap/join-endpoint.js";
import { generateKey, makeCsr } from "../../controlplane/pki/pki.js";

export class JoinError extends Error {
  constructor(step: string, why: string) {
    super(`join: ${step}: ${why}`);
    this.name = "JoinError";
  }
}

export interface JoinOptions {
  /** https://host:port of the apiserver. */
  server: string;
  token: string;
  nodeName: string;
  /** Trust the CA whose public key hashes to this (`sha256:<hex>`). */
  caCertHash?: string;
  /** Or trust this CA outright. */
  caPem?: string;
}

export interface NodeCredentials {
  caPem: string;
  certPem: string;
  keyPem: string;
  nodeServiceAddress: string;
}

interface HttpResult {
  status: number;
  body: string;
  peer: Buffer | undefined;
}

function call(
  url: URL,
  method: string,
  token: string,
  ca: string | undefined,
  body?: unknown,
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      url,
      {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(payload ? { "content-type": "application/json" } : {}),
        },
        ...(ca ? { ca } : { rejectUnauthorized: false }),
        timeout: 15_000,
      },
      (res) => {
        // Read the peer certificate now: by the end of the body the socket may be released.
        const peer = (res.socket as TLSSocket | null)?.getPeerCertificate()?.raw;
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text, peer }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end(payload);
  });
}

function failure(step: string, res: HttpResult): JoinError {
  let message = res.body;
  try {
    message = (JSON.parse(res.body) as { message?: string }).message ?? res.body;
  } catch {
    // not a Status body; keep the text
  }
  return new JoinError(step, `HTTP ${res.status}: ${message}`);
}

export async function joinCluster(opts: JoinOptions): Promise<NodeCredentials> {
  if (!opts.caPem && !opts.caCertHash) {
    throw new JoinError(
      "trust",
      "give --ca-cert-hash sha256:<hex> (printed by kctl token create) or --ca-file",
    );
  }
  const base = new URL(opts.server);
  let caPem = opts.caPem;
  if (!caPem) {
    const res = await call(new URL(clusterInfoPath, base), "GET", opts.token, undefined).catch(
      (err: Error) => {
        throw new JoinError("cluster-info", `${opts.server}: ${err.message}`);
      },
    );
    if (res.status !== 200) throw failure("cluster-info", res);
    const info = JSON.parse(res.body) as ClusterInfo;
    const hash = caCertHash(info.caPem);
    if (hash !== opts.caCertHash) {
      throw new JoinError(
        "trust",
        `the cluster CA hashes to ${hash}, not ${opts.caCertHash}; refusing to join`,
      );
    }
    // The CA is the one we were told to trust; the server must also hold a certificate it signed.
    if (!res.peer || !new X509Certificate(res.peer).checkIssued(new X509Certificate(info.caPem))) {
      throw new JoinError("trust", `${opts.server} presented a certificate not signed by the cluster CA`);
    }
    caPem = info.caPem;
  }
  const keyPem = await generateKey();
  const csr = await makeCsr(keyPem, `system:node:${opts.nodeName}`);
  const res = await call(new URL(joinPath, base), "POST", opts.token, caPem, {
    nodeName: opts.nodeName,
    csr,
  }).catch((err: Error) => {
    throw new JoinError("sign", `${opts.server}: ${err.message}`);
  });
  if (res.status !== 201) throw failure("sign", res);
  const joined = JSON.parse(res.body) as JoinResponse;
  return {
    caPem: joined.caPem,
    certPem: joined.certificatePem,
    keyPem,
    nodeServiceAddress: joined.nodeServiceAddress,
  };
}
