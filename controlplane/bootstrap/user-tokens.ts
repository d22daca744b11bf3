/**
 * Bearer tokens for people and programs, minted by `kctl kubeconfig create-user NAME --token`:
 * `abcdef.0123456789abcdef` like a bootstrap token, stored as the Secret
 * `kube-system/user-token-<id>` of type `kctl.io/user-token` naming the user and its groups. The
 * token authenticates only; what the user may do is what RBAC grants it. Deleting the Secret
 * revokes the token.
 */

import type { KubeObject } from "../../foundation/api/object.js";
import { unb64, userTokenType } from "../../foundation/bootstrap/token-format.js";
import type { Secret } from "../../proto/gen/api.js";
import type { User } from "../apiserver/index.js";
import type { Lister } from "../client/index.js";
import { tokenSecret } from "./bootstrap-tokens.js";

/** The user a token names, from the Secrets cache; undefined when unknown, wrong or expired. */
export function authenticateUserToken(
  lister: Lister<Secret & KubeObject>,
  token: string,
  now: number = Date.now(),
): User | undefined {
  const secret = tokenSecret(lister, token, "user-token-", userTokenType)?.secret;
  if (!secret) return undefined;
  const expiration = unb64(secret.data?.expiration);
  if (expiration && Date.parse(expiration) <= now) return undefined;
  const groups = unb64(secret.data?.groups);
  return { name: unb64(secret.data?.user), groups: groups ? groups.split(",") : [] };
}
