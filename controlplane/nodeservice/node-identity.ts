/**
 * Who is calling: node agents authenticate with client certificates issued by the cluster CA, whose
 * subject is `CN=system:node:<name>, O=system:nodes` (Kubernetes' convention). A node may act only
 * for itself, like Kubernetes' NodeRestriction admission.
 */
import type { PeerCertificate } from "node:tls";
import type { ServerUnaryCall } from "@grpc/grpc-js";
import { ApiError } from "../api/errors.js";
import { nodesGroup, nodeUserPrefix } from "../apiserver/node-authorizer.js";

export { nodesGroup, nodeUserPrefix };

/** Any server call: every kind carries the TLS auth context and the peer's address. */
export type CallWithAuth = Pick<ServerUnaryCall<unknown, unknown>, "getAuthContext" | "getPeer">;

/**
 * Names the node a call comes from, from its verified client certificate; throws Unauthorized when
 * the call carries no node certificate. Handlers call it once, when the call starts.
 */
export type NodeAuthenticator = (call: CallWithAuth) => string;

/** The node a verified peer certificate names. Throws Unauthorized for none or a non-node one. */
export function nodeFromCertificate(cert: Pick<PeerCertificate, "subject"> | undefined): string {
  const cn = cert?.subject?.CN;
  const org = cert?.subject?.O;
  const name = Array.isArray(cn) ? cn[0] : cn;
  const groups = Array.isArray(org) ? org : [org];
  if (!name?.startsWith(nodeUserPrefix) || !groups.includes(nodesGroup)) {
    throw new ApiError(
      "Unauthorized",
      "a node client certificate (CN=system:node:<name>, O=system:nodes) is required",
    );
  }
  return name.slice(nodeUserPrefix.length);
}

/**
 * Reads the certificate of the call's connection on every call. grpc-js has the TLS socket decode
 * the whole certificate each time it is asked; see AuthenticatedConnections for the per-connection
 * answer the NodeService server uses.
 */
export const certificateAuthenticator: NodeAuthenticator = (call) =>
  nodeFromCertificate(call.getAuthContext()?.sslPeerCertificate);

/** Throws Forbidden unless the caller is `nodeName`. */
export function requireSelf(caller: string, nodeName: string): void {
  if (caller !== nodeName) {
    throw new ApiError("Forbidden", `node "${caller}" may not act for node "${nodeName}"`);
  }
}
