/**
 * The two endpoints a new node uses to join, outside the Kubernetes API:
 * - `GET /apis/kctl.io/v1/cluster-info`, served without credentials, as kubeadm's
 *   `kube-public/cluster-info` ConfigMap: `data.kubeconfig` (a kubeconfig naming the cluster CA)
 *   and, per live bootstrap token, `data["jws-kubeconfig-<id>"]`, the kubeconfig signed with that
 *   token (jws.ts). The joiner checks the signature with its token and the CA against the hash it
 *   was given before it sends the token anywhere, so a man in the middle learns nothing.
 * - `POST /apis/kctl.io/v1/join` `{nodeName, csr}` (a bootstrap token or an admin): signs the
 *   node's CSR as `CN=system:node:<nodeName>, O=system:nodes`. The subject comes from here, never
 *   from the CSR, so a token grants exactly one node identity per call and the node's key never
 *   leaves it. A name some Node holds is signed only for a CSR made with that Node's key (see
 *   nodeservice/node-key.ts). Each join spends one use of a counted token.
 */

import { X509Certificate } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import { ApiError } from "../../foundation/api/errors.js";
import { dns1123SubdomainErrors } from "../../foundation/api/labels.js";
import {
  type ClusterInfoConfigMap,
  clusterInfoKubeconfig,
  clusterInfoPath,
  type JoinResponse,
  joinPath,
  jwsKeyPrefix,
  nodeCertificateDays,
  nodeCertificatePath,
} from "../../foundation/bootstrap/join-protocol.js";
import { detachedJws } from "../../foundation/bootstrap/jws.js";
import { nodesGroup, nodeUserPrefix } from "../../foundation/bootstrap/node-names.js";
import { csrPublicKeyHash, type KeyPair, publicKeyHash, signCsr } from "../../foundation/pki/pki.js";
import { sendJson } from "../apiserver/http-io.js";
import type { AnonymousRouteHandler, ExtraRouteHandler, User } from "../apiserver/index.js";

/** How the join endpoint learns who holds a node's name. */
export interface JoinDeps {
  ca: KeyPair;
  nodeServiceAddress: () => string;
  /** The live tokens that sign cluster-info. */
  signingTokens: () => { id: string; secret: string }[];
  /** The key hash a Node records; `null` when the Node records none, undefined when there is no such Node. */
  nodeKey: (nodeName: string) => Promise<string | null | undefined>;
  /** Spends one use of the caller's token; throws Forbidden when none is left. */
  spendTokenUse: (user: User) => Promise<void>;
  /** Whether a key was revoked (node-revocation.ts): no certificate is signed for it again. */
  keyRevoked: (keyHash: string) => boolean;
}

async function readJson(req: IncomingMessage, limit = 64 * 1024): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new ApiError("RequestEntityTooLarge", `join request larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString() || "null");
  } catch {
    throw new ApiError("BadRequest", "join request body is not valid JSON");
  }
}

/** cluster-info, for the apiserver's routes served without credentials. */
export function clusterInfoRoute(
  opts: Pick<JoinDeps, "ca" | "signingTokens">,
): Record<string, AnonymousRouteHandler> {
  return {
    [clusterInfoPath]: async (req, res) => {
      if (req.method !== "GET")
        throw new ApiError("MethodNotAllowed", `${req.method} is not allowed on ${clusterInfoPath}`);
      const kubeconfig = clusterInfoKubeconfig(`https://${req.headers.host ?? ""}`, opts.ca.certPem);
      const data: Record<string, string> = { kubeconfig };
      for (const t of opts.signingTokens())
        data[`${jwsKeyPrefix}${t.id}`] = detachedJws(kubeconfig, t.id, t.secret);
      const body: ClusterInfoConfigMap = {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "cluster-info", namespace: "kube-public" },
        data,
      };
      sendJson(res, 200, body);
    },
  };
}

/** Throws Forbidden unless a CSR with key `csrKey` may take `nodeName`. */
async function checkNameFree(deps: JoinDeps, nodeName: string, csrKey: string): Promise<void> {
  if (deps.keyRevoked(csrKey)) {
    throw new ApiError("Forbidden", `the CSR's key ${csrKey} was revoked; make a new key to join`);
  }
  const held = await deps.nodeKey(nodeName);
  if (held === undefined || held === csrKey) return;
  throw new ApiError(
    "Forbidden",
    `node "${nodeName}" exists; only its current key may join under that name ` +
      "(make the CSR with the node's key, or delete the Node to free the name)",
  );
}

export function joinRoutes(opts: JoinDeps): Record<string, ExtraRouteHandler> {
  return {
    [joinPath]: async (req, res, user) => {
      if (req.method !== "POST")
        throw new ApiError("MethodNotAllowed", `${req.method} is not allowed on ${joinPath}`);
      const body = (await readJson(req)) as { nodeName?: unknown; csr?: unknown } | null;
      const nodeName = body?.nodeName;
      const csr = body?.csr;
      if (typeof nodeName !== "string") throw new ApiError("BadRequest", "nodeName: required string");
      const problems = dns1123SubdomainErrors(nodeName);
      if (problems.length) throw new ApiError("BadRequest", `nodeName "${nodeName}": ${problems.join("; ")}`);
      if (typeof csr !== "string" || !csr.includes("BEGIN CERTIFICATE REQUEST")) {
        throw new ApiError("BadRequest", "csr must be a PEM certificate signing request");
      }
      const csrKey = await csrPublicKeyHash(csr).catch((err: Error) => {
        throw new ApiError("BadRequest", `csr: ${err.message}`);
      });
      await checkNameFree(opts, nodeName, csrKey);
      await opts.spendTokenUse(user);
      const certificatePem = await signNodeCsr(opts.ca, csr, nodeName);
      const response: JoinResponse = {
        caPem: opts.ca.certPem,
        nodeServiceAddress: opts.nodeServiceAddress(),
        certificatePem,
      };
      sendJson(res, 201, response);
    },
    [nodeCertificatePath]: async (req, res, user) => {
      if (req.method !== "POST")
        throw new ApiError("MethodNotAllowed", `${req.method} is not allowed on ${nodeCertificatePath}`);
      const socket = req.socket as TLSSocket;
      const raw = socket.authorized ? socket.getPeerCertificate()?.raw : undefined;
      // A user token may carry any name: only a node's own client certificate renews it.
      if (!raw || !user.name.startsWith(nodeUserPrefix) || !user.groups?.includes(nodesGroup)) {
        throw new ApiError(
          "Forbidden",
          `user "${user.name}" is not a node's client certificate; only one renews itself`,
        );
      }
      const nodeName = user.name.slice(nodeUserPrefix.length);
      const body = (await readJson(req)) as { csr?: unknown } | null;
      const csr = body?.csr;
      if (typeof csr !== "string" || !csr.includes("BEGIN CERTIFICATE REQUEST")) {
        throw new ApiError("BadRequest", "csr must be a PEM certificate signing request");
      }
      const csrKey = await csrPublicKeyHash(csr).catch((err: Error) => {
        throw new ApiError("BadRequest", `csr: ${err.message}`);
      });
      const certKey = publicKeyHash(new X509Certificate(raw).publicKey);
      if (csrKey !== certKey) {
        throw new ApiError(
          "Forbidden",
          `csr: a renewal keeps the node's key; the CSR's key ${csrKey} is not the certificate's ${certKey}`,
        );
      }
      const held = await opts.nodeKey(nodeName);
      if (held === undefined) throw new ApiError("NotFound", `node "${nodeName}" does not exist; join again`);
      await checkNameFree(opts, nodeName, csrKey);
      const certificatePem = await signNodeCsr(opts.ca, csr, nodeName);
      sendJson(res, 201, { certificatePem });
    },
  };
}

function signNodeCsr(ca: KeyPair, csr: string, nodeName: string): Promise<string> {
  return signCsr(ca, csr, {
    commonName: `${nodeUserPrefix}${nodeName}`,
    organization: nodesGroup,
    client: true,
    validityDays: nodeCertificateDays,
  });
}
