/**
 * Joining a cluster with a bootstrap token, like `kubeadm join`: the node learns the cluster CA
 * (trusting it only if it matches `--ca-cert-hash`, or a CA file it was given), makes its own key
 * and CSR, and has the control plane sign it as `system:node:<name>`. The key never leaves the node.
 *
 * The token is sent only over TLS verified against that CA. To learn the CA, cluster-info is read
 * without credentials and believed only when it carries a signature made with the token (kubeadm's
 * JWS) and the CA matches the hash: a server that does not know the token cannot forge either.
 */
import { X509Certificate } from "node:crypto";
import { request } from "node:https";
import type { TLSSocket } from "node:tls";
import type { ClusterInfoConfigMap, JoinResponse } from "../../foundation/bootstrap/join-protocol.js";
import {
  caCertHash,
  caFromClusterInfoKubeconfig,
  clusterInfoPath,
  joinPath,
  jwsKeyPrefix,
} from "../../foundation/bootstrap/join-protocol.js";
import { verifyDetachedJws } from "../../foundation/bootstrap/jws.js";
import { generateKey, makeCsr } from "../../foundation/pki/pki.js";

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
  /** The node's key, when it has one already (joining again under its name); a new one otherwise. */
  keyPem?: string;
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

/**
 * One HTTPS request. With `trust` the server must prove the CA and may get the token; without, the
 * server is not verified, so nothing secret is sent.
 */
export function call(
  url: URL,
  method: string,
  trust: { ca: string; token: string } | undefined,
  body?: unknown,
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      url,
      {
        method,
        headers: {
          ...(trust ? { authorization: `Bearer ${trust.token}` } : {}),
          ...(payload ? { "content-type": "application/json" } : {}),
        },
        ...(trust ? { ca: trust.ca } : { rejectUnauthorized: false }),
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

export function failure(step: string, res: HttpResult): JoinError {
  let message = res.body;
  try {
    message = (JSON.parse(res.body) as { message?: string }).message ?? res.body;
  } catch {
    // not a Status body; keep the text
  }
  return new JoinError(step, `HTTP ${res.status}: ${message}`);
}

/** Reads cluster-info without credentials and returns its CA once the token's signature and the hash check out. */
export async function pinnedCa(base: URL, token: string, wantHash: string): Promise<string> {
  const [tokenId, tokenSecret] = token.split(".");
  if (!tokenId || !tokenSecret)
    throw new JoinError("token", "a bootstrap token looks like abcdef.0123456789abcdef");
  const res = await call(new URL(clusterInfoPath, base), "GET", undefined).catch((err: Error) => {
    throw new JoinError("cluster-info", `${base.origin}: ${err.message}`);
  });
  if (res.status !== 200) throw failure("cluster-info", res);
  let kubeconfig: string;
  let caPem: string;
  let jws: string | undefined;
  try {
    const info = JSON.parse(res.body) as ClusterInfoConfigMap;
    kubeconfig = info.data.kubeconfig ?? "";
    jws = info.data[`${jwsKeyPrefix}${tokenId}`];
    caPem = caFromClusterInfoKubeconfig(kubeconfig);
  } catch (err) {
    throw new JoinError(
      "cluster-info",
      `${base.origin} sent no readable cluster-info: ${(err as Error).message}`,
    );
  }
  if (!jws) {
    throw new JoinError(
      "trust",
      `cluster-info from ${base.origin} is not signed with token "${tokenId}" (expired, used up, or not this cluster's)`,
    );
  }
  if (!verifyDetachedJws(kubeconfig, jws, tokenId, tokenSecret)) {
    throw new JoinError(
      "trust",
      `cluster-info from ${base.origin} has a bad signature for token "${tokenId}"; refusing to join`,
    );
  }
  const hash = caCertHash(caPem);
  if (hash !== wantHash) {
    throw new JoinError("trust", `the cluster CA hashes to ${hash}, not ${wantHash}; refusing to join`);
  }
  // The CA is the one we were told to trust; the server must also hold a certificate it signed.
  if (!res.peer || !new X509Certificate(res.peer).checkIssued(new X509Certificate(caPem))) {
    throw new JoinError("trust", `${base.origin} presented a certificate not signed by the cluster CA`);
  }
  return caPem;
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
  if (!caPem) caPem = await pinnedCa(base, opts.token, opts.caCertHash!);
  const keyPem = opts.keyPem ?? (await generateKey());
  const csr = await makeCsr(keyPem, `system:node:${opts.nodeName}`);
  const res = await call(
    new URL(joinPath, base),
    "POST",
    { ca: caPem, token: opts.token },
    {
      nodeName: opts.nodeName,
      csr,
    },
  ).catch((err: Error) => {
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
