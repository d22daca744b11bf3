/**
 * Which key holds a node's name, and which keys are revoked, as the control plane records them and
 * `kctl certificate revoke` writes them: the Node's `kctl.io/node-key-sha256` annotation (set at
 * its first Register; see controlplane/nodeservice/node-key.ts) and the
 * `kube-system/kctl-revoked-node-keys` Secret (see controlplane/bootstrap/node-revocation.ts).
 */
import type { Secret } from "../../proto/gen/api.js";
import type { KubeObject } from "../api/object.js";

export const nodeKeyAnnotation = "kctl.io/node-key-sha256";

/** The key recorded on a Node; undefined when none is (a node registered before keys were recorded). */
export function recordedNodeKey(node: Pick<KubeObject, "metadata">): string | undefined {
  return node.metadata.annotations?.[nodeKeyAnnotation] || undefined;
}

export const revokedKeysNamespace = "kube-system";
export const revokedKeysSecret = "kctl-revoked-node-keys";
export const revokedKeysType = "kctl.io/revoked-node-keys";

/** A Secret data key for a `sha256:<hex>` key hash (data keys may not hold a colon). */
export function dataKey(keyHash: string): string {
  return keyHash.replace(/^sha256:/, "");
}

/** The Secret with `keyHash` (held by `node`) added to `current`'s revoked keys. */
export function withRevokedKey(current: Secret | undefined, keyHash: string, node: string): Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { ...(current?.metadata ?? {}), name: revokedKeysSecret, namespace: revokedKeysNamespace },
    type: revokedKeysType,
    data: { ...(current?.data ?? {}), [dataKey(keyHash)]: Buffer.from(node).toString("base64") },
  };
}
