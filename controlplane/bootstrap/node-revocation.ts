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
import {
  dataKey,
  revokedKeysNamespace,
  revokedKeysSecret,
  revokedKeysType,
} from "../../foundation/bootstrap/node-keys.js";
import type { Secret } from "../../proto/gen/api.js";
import type { Lister } from "../client/index.js";

/** Whether a key hash is revoked, read from the Secrets cache (no I/O per call). */
export function revokedKeyCheck(secrets: Lister<Secret & KubeObject>): (keyHash: string) => boolean {
  return (keyHash) => {
    const secret = secrets.get(`${revokedKeysNamespace}/${revokedKeysSecret}`);
    return secret?.type === revokedKeysType && secret.data?.[dataKey(keyHash)] !== undefined;
  };
}
