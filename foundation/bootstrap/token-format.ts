/**
 * The bootstrap token format (kubeadm's `abcdef.0123456789abcdef`) and the Secret that records one
 * (`kube-system/bootstrap-token-<id>`, type `bootstrap.kubernetes.io/token`, with its expiration,
 * uses left and usages), as both the control plane and `kctl token` read and write it. The
 * control plane's bootstrap/bootstrap-tokens.ts authenticates with them. User tokens share the
 * format, stored as `kube-system/user-token-<id>` naming the user and its groups.
 */
import { randomInt } from "node:crypto";
import type { Secret } from "../../proto/gen/api.js";
import { ApiError } from "../api/errors.js";
import type { KubeObject } from "../api/object.js";
import { rfc3339 } from "../util/time.js";

export const bootstrapTokenType = "bootstrap.kubernetes.io/token";
export const tokenPattern = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

export function isBootstrapToken(token: string): boolean {
  return tokenPattern.test(token);
}

export function generateBootstrapToken(): string {
  const pick = (n: number) => Array.from({ length: n }, () => alphabet[randomInt(alphabet.length)]).join("");
  return `${pick(6)}.${pick(16)}`;
}

export const usesRemainingKey = "uses-remaining";
/** kctl's own usage (kubeadm has none: it encrypts the keys with a separate certificate key). */
export const controlPlaneUsageKey = "usage-kctl-control-plane-join";
export const b64 = (s: string) => Buffer.from(s).toString("base64");
export const unb64 = (s: string | undefined) => Buffer.from(s ?? "", "base64").toString();

export interface BootstrapTokenOptions {
  token: string;
  /** How long the token works; at least 1 (a token that never expires is refused). */
  ttlSeconds: number;
  /** How many nodes may join with it; unlimited (until it expires) when omitted. */
  maxUses?: number;
  description?: string;
  /** The token may also join control planes, which receive the cluster's CA keys (control-plane-join.ts). */
  controlPlane?: boolean;
  now?: number;
}

/** The stored fields of a bootstrap token, decoded, for listing. */
export interface BootstrapTokenInfo {
  id: string;
  expiration: string;
  /** Undefined: unlimited. */
  usesRemaining: number | undefined;
  description: string;
  controlPlane: boolean;
}

/** The Secret that records `token`; throws BadRequest when the token is not in the kubeadm format. */
export function bootstrapTokenSecret(opts: BootstrapTokenOptions): Secret & KubeObject {
  const m = tokenPattern.exec(opts.token);
  if (!m)
    throw new ApiError(
      "BadRequest",
      `bootstrap token "${opts.token}" must look like abcdef.0123456789abcdef`,
    );
  if (!Number.isInteger(opts.ttlSeconds) || opts.ttlSeconds <= 0) {
    throw new ApiError(
      "BadRequest",
      `ttl: ${opts.ttlSeconds}: a bootstrap token must expire (give a positive duration)`,
    );
  }
  if (opts.maxUses !== undefined && (!Number.isInteger(opts.maxUses) || opts.maxUses <= 0)) {
    throw new ApiError("BadRequest", `maxUses: ${opts.maxUses}: want a positive whole number`);
  }
  const data: Record<string, string> = {
    "token-id": b64(m[1]!),
    "token-secret": b64(m[2]!),
    "usage-bootstrap-authentication": b64("true"),
    "usage-bootstrap-signing": b64("true"),
    expiration: b64(rfc3339((opts.now ?? Date.now()) + opts.ttlSeconds * 1000)),
  };
  if (opts.maxUses !== undefined) data[usesRemainingKey] = b64(String(opts.maxUses));
  if (opts.description) data.description = b64(opts.description);
  if (opts.controlPlane) data[controlPlaneUsageKey] = b64("true");
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: `bootstrap-token-${m[1]}`, namespace: "kube-system" },
    type: bootstrapTokenType,
    data,
  };
}

/** The decoded fields of each bootstrap token Secret among `items`. */
export function describeBootstrapTokens(items: readonly unknown[]): BootstrapTokenInfo[] {
  return (items as (Secret & KubeObject)[])
    .filter((s) => s.type === bootstrapTokenType)
    .map((s) => {
      const uses = s.data?.[usesRemainingKey];
      return {
        id: unb64(s.data?.["token-id"]),
        expiration: unb64(s.data?.expiration),
        usesRemaining: uses === undefined ? undefined : Number(unb64(uses)),
        description: unb64(s.data?.description),
        controlPlane: unb64(s.data?.[controlPlaneUsageKey]) === "true",
      };
    });
}

/** A user token (`kctl kubeconfig create-user NAME --token`): the Secret `kube-system/user-token-<id>`. */
export const userTokenType = "kctl.io/user-token";
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
