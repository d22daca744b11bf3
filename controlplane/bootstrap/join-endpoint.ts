/**
 * The two endpoints a new node uses to join, outside the Kubernetes API:
 * - `GET /apis/kctl.io/v1/cluster-info` (any authenticated caller, including a bootstrap token):
 *   the cluster CA, which the node checks against the hash it was given (`--ca-cert-hash`), and
 *   the NodeService address.
 * - `POST /apis/kctl.io/v1/join` `{nodeName, csr}`: signs the node's CSR as
 *   `CN=system:node:<nodeName>, O=system:nodes`. The subject comes from here, never from the CSR,
 *   so a token grants exactly one node identity per call and the node's key never leaves it.
 */
import { createHash, X509Certificate } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { ApiError } from "../api/errors.js";
import { dns1123SubdomainErrors } from "../api/labels.js";
import { sendJson } from "../apiserver/http-io.js";
import type { ExtraRouteHandler } from "../apiserver/index.js";
import { nodesGroup, nodeUserPrefix } from "../nodeservice/node-identity.js";
import { type KeyPair, signCsr } from "../pki/pki.js";

export const clusterInfoPath = "/apis/kctl.io/v1/cluster-info";
export const joinPath = "/apis/kctl.io/v1/join";

export interface ClusterInfo {
  caPem: string;
  nodeServiceAddress: string;
}

export interface JoinResponse extends ClusterInfo {
  certificatePem: string;
}

/** `sha256:<hex>` of the CA's public key (SubjectPublicKeyInfo), the form kubeadm prints. */
export function caCertHash(caPem: string): string {
  const spki = new X509Certificate(caPem).publicKey.export({ type: "spki", format: "der" });
  return `sha256:${createHash("sha256").update(spki).digest("hex")}`;
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

export function joinRoutes(opts: {
  ca: KeyPair;
  nodeServiceAddress: () => string;
}): Record<string, ExtraRouteHandler> {
  return {
    [clusterInfoPath]: async (req, res) => {
      if (req.method !== "GET")
        throw new ApiError("MethodNotAllowed", `${req.method} is not allowed on ${clusterInfoPath}`);
      const info: ClusterInfo = { caPem: opts.ca.certPem, nodeServiceAddress: opts.nodeServiceAddress() };
      sendJson(res, 200, info);
    },
    [joinPath]: async (req, res) => {
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
      const certificatePem = await signCsr(opts.ca, csr, {
        commonName: `${nodeUserPrefix}${nodeName}`,
        organization: nodesGroup,
        client: true,
      });
      const response: JoinResponse = {
        caPem: opts.ca.certPem,
        nodeServiceAddress: opts.nodeServiceAddress(),
        certificatePem,
      };
      sendJson(res, 201, response);
    },
  };
}
