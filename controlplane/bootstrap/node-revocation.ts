/**
 * Revoked node keys: `kctl certificate revoke NODE` records the key the Node holds (its
 * `kctl.io/node-key-sha256`) in the `kube-system/kctl-revoked-node-keys` Secret and deletes the
 * Node. From then on every certificate made with that key is refused wherever a node shows one —
 * at NodeService's TLS handshake (and open connections with it are closed), on the HTTPS API, and
 * at the join endpoint, which signs no new certificate for that key — whatever name or lifetime the
 * certificate carries. Keys, not serial numbers, are recorded because a node's name is bound to its
 * key (nodeservice/node-key.ts) and a re-join with the same key would otherwise mint a fresh serial.
 */

import type { KubeObject } from "../../foundation/api/object.js";
import type { Secret } from "../../proto/gen/api.js";
import type { Lister } from "../client/index.js";

export const revokedKeysNamespace = "kube-system";
export const revokedKeysSecret = "kctl-revoked-node-keys";
export const revokedKeysType = "kctl.io/revoked-node-keys";

/** A Secret data key for a `sha256:<hex>` key hash (data keys may not hold a colon). */
function dataKey(keyHash: string): string {
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

/** Whether a key hash is revoked, read from the Secrets cache (no I/O per call). */
export function revokedKeyCheck(secrets: Lister<Secret & KubeObject>): (keyHash: string) => boolean {
  return (keyHash) => {
    const secret = secrets.get(`${revokedKeysNamespace}/${revokedKeysSecret}`);
    return secret?.type === revokedKeysType && secret.data?.[dataKey(keyHash)] !== undefined;
  };
}
