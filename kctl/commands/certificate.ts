/**
 * `kctl certificate revoke NODE`: cuts a node off. The key the Node holds is recorded as revoked
 * (controlplane/bootstrap/node-revocation.ts) before the Node is deleted, so every certificate made
 * with that key stops working at once — on NodeService (open connections are closed), on the HTTPS
 * API and at the join endpoint — and the name is free for a node that joins with a new key.
 */

import { isApiError } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { resourceForKind } from "../../foundation/api/resources.js";
import {
  recordedNodeKey,
  revokedKeysNamespace,
  revokedKeysSecret,
  withRevokedKey,
} from "../../foundation/bootstrap/node-keys.js";
import type { Secret } from "../../proto/gen/api.js";
import type { Command } from "../command.js";
import { UsageError } from "../errors.js";

const nodes = resourceForKind("v1", "Node")!;
const secrets = resourceForKind("v1", "Secret")!;

export const certificateCommand: Command = {
  usage: "kctl certificate revoke NODE",
  flags: [],
  async run(ctx) {
    const [verb, node, ...rest] = ctx.positionals;
    if (verb !== "revoke")
      throw new UsageError(`kctl certificate: expected "revoke"${verb ? `, got "${verb}"` : ""}`);
    if (!node || rest.length) throw new UsageError("kctl certificate revoke takes one NODE");
    const { client } = await ctx.connect();
    const keyHash = recordedNodeKey(await client.get(nodes, undefined, node));
    if (!keyHash) {
      throw new UsageError(
        `node "${node}" records no key (it registered before keys were recorded); delete it and rotate the CA`,
      );
    }
    // Revoke first: should the delete fail, the key is already useless (fail closed).
    for (let attempt = 0; ; attempt++) {
      const current = await client.get(secrets, revokedKeysNamespace, revokedKeysSecret).catch((err) => {
        if (isApiError(err, "NotFound")) return undefined;
        throw err;
      });
      // The stored metadata (resourceVersion) is kept, so a concurrent revocation is a Conflict.
      const next = withRevokedKey(current as Secret | undefined, keyHash, node) as KubeObject;
      try {
        if (current) await client.update(secrets, revokedKeysNamespace, next);
        else await client.create(secrets, revokedKeysNamespace, next);
        break;
      } catch (err) {
        // Another revocation wrote the list in between: read it again.
        if (attempt < 4 && (isApiError(err, "Conflict") || isApiError(err, "AlreadyExists"))) continue;
        throw err;
      }
    }
    await client.delete(nodes, undefined, node);
    ctx.io.stdout.write(`node "${node}" deleted; certificates with its key ${keyHash} are revoked\n`);
    return 0;
  },
};
