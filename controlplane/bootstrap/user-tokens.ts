/**
 * Bearer tokens for people and programs, minted by `kctl kubeconfig create-user NAME --token`:
 * `abcdef.0123456789abcdef` like a bootstrap token, stored as the Secret
 * `kube-system/user-token-<id>` of type `kctl.io/user-token` naming the user and its groups. The
 * token authenticates only; what the user may do is what RBAC grants it. Deleting the Secret
 * revokes the token.
 */
import type { Secret } from "../../proto/gen/api.js";
import { ApiError } from "../api/errors.js";
import type { KubeObject } from "../api/object.js";
import type { User } from "../apiserver/index.js";
import type { Lister } from "../client/index.js";
import { rfc3339 } from "../util/time.js";
import { tokenSecret } from "./bootstrap-tokens.js";

export const userTokenType = "kctl.io/user-token";
const tokenPattern = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
const b64 = (s: string) => Buffer.from(s).toString("base64");
const unb64 = (s: string | undefined) => Buffer.from(s ?? "", "base64").toString();

export interface UserTokenOptions {
  token: string;
  user: string;
  groups: readonly string[];
  /** Unlimited when omitted. */
  ttlSeconds?: number;
  now?: number;
}

/** The Secret that records a user's token; throws BadRequest for a malformed token or user. */
export function userTokenSecret(opts: UserTokenOptions): Secret & KubeObject {
  const m = tokenPattern.exec(opts.token);
  if (!m) throw new ApiError("BadRequest", "a user token must look like abcdef.0123456789abcdef");
  if (!opts.user) throw new ApiError("BadRequest", "user: required");
  if (opts.groups.some((g) => !g || g.includes(","))) {
    throw new ApiError(
      "BadRequest",
      `groups: ${JSON.stringify(opts.groups)}: names must be non-empty and without commas`,
    );
  }
  const data: Record<string, string> = {
    "token-id": b64(m[1]!),
    "token-secret": b64(m[2]!),
    user: b64(opts.user),
    groups: b64(opts.groups.join(",")),
  };
  if (opts.ttlSeconds !== undefined)
    data.expiration = b64(rfc3339((opts.now ?? Date.now()) + opts.ttlSeconds * 1000));
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: `user-token-${m[1]}`, namespace: "kube-system" },
    type: userTokenType,
    data,
  };
}

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
