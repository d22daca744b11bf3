/**
 * Which key holds a node's name. The first Register of a node records the public key of the
 * certificate it called with on the Node (`kctl.io/node-key-sha256`); from then on the name belongs
 * to that key: Register, WatchPods and Tunnel from a certificate with another key are refused, and
 * the join endpoint signs that name again only for a CSR made with the same key. An admin frees
 * the name by deleting the Node.
 */
import { X509Certificate } from "node:crypto";
import { ApiError } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { recordedNodeKey } from "../../foundation/bootstrap/node-keys.js";
import { publicKeyHash } from "../../foundation/pki/pki.js";
import type { CallWithAuth } from "./node-identity.js";

/** The `publicKeyHash` of the key in the call's client certificate. */
export function peerKeyHash(call: CallWithAuth): string {
  const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
  if (!raw) throw new ApiError("Unauthorized", "a node client certificate is required");
  return publicKeyHash(new X509Certificate(raw).publicKey);
}

/** Throws Forbidden when the Node records a key other than `keyHash`. */
export function checkNodeKey(node: Pick<KubeObject, "metadata">, keyHash: string): void {
  const recorded = recordedNodeKey(node);
  if (recorded !== undefined && recorded !== keyHash) {
    throw new ApiError(
      "Forbidden",
      `node "${node.metadata.name}" is held by another key (${recorded}); ` +
        "a certificate with this key may not act for it (delete the Node to free the name)",
    );
  }
}
