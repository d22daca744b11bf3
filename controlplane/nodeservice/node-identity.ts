/**
 * Who is calling: node agents authenticate with client certificates issued by the cluster CA, whose
 * subject is `CN=system:node:<name>, O=system:nodes` (Kubernetes' convention). A node may act only
 * for itself, like Kubernetes' NodeRestriction admission.
 */
import type { ServerUnaryCall } from "@grpc/grpc-js";
import { ApiError } from "../api/errors.js";

export const nodeUserPrefix = "system:node:";
export const nodesGroup = "system:nodes";

/** Any server call: every kind carries the TLS auth context. */
export type CallWithAuth = Pick<ServerUnaryCall<unknown, unknown>, "getAuthContext">;

/** The node name from the verified peer certificate. Throws Unauthorized when there is none. */
export function callerNode(call: CallWithAuth): string {
  const cert = call.getAuthContext()?.sslPeerCertificate;
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

/** Throws Forbidden unless the caller is `nodeName`. */
export function requireSelf(call: CallWithAuth, nodeName: string): string {
  const caller = callerNode(call);
  if (caller !== nodeName) {
    throw new ApiError("Forbidden", `node "${caller}" may not act for node "${nodeName}"`);
  }
  return caller;
}
