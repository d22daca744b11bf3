/**
 * Bootstrap tokens, as in Kubernetes (kubeadm): `abcdef.0123456789abcdef`, stored as a Secret
 * `kube-system/bootstrap-token-<id>` of type `bootstrap.kubernetes.io/token` with an expiration. A
 * new node presents one to join; it authenticates as `system:bootstrap:<id>` in the group
 * `system:bootstrappers`, which may call only the join endpoint. Every token expires; it may also
 * carry a number of uses left (`uses-remaining`), one spent per node joined. Tokens marked for
 * signing (`usage-bootstrap-signing`) sign the anonymous cluster-info document (see jws.ts).
 */
import { timingSafeEqual } from "node:crypto";
import { ApiError, isApiError } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { resourceForKind } from "../../foundation/api/resources.js";
import {
  type BootstrapTokenOptions,
  b64,
  bootstrapTokenSecret,
  bootstrapTokenType,
  controlPlaneUsageKey,
  tokenPattern,
  unb64,
  usesRemainingKey,
} from "../../foundation/bootstrap/token-format.js";
import type { Secret } from "../../proto/gen/api.js";
import { bootstrapGroup, type User } from "../apiserver/index.js";
import type { DeepReadonly, Lister } from "../client/index.js";
import type { Registry } from "../registry/index.js";

const secrets = resourceForKind("v1", "Secret")!;

/** Stores the token's Secret through the registry; storing a token that exists renews it. */
export async function createBootstrapToken(registry: Registry, opts: BootstrapTokenOptions): Promise<void> {
  const secret = bootstrapTokenSecret(opts);
  try {
    await registry.create(secrets, secret);
  } catch (err) {
    if (!(err instanceof ApiError && err.reason === "AlreadyExists")) throw err;
    await registry.update(secrets, "kube-system", secret.metadata.name!, secret);
  }
}

/**
 * Checks a bootstrap token against the Secrets in the informer cache (synchronous, as the
 * apiserver's authenticator must be). Undefined when the token is unknown, wrong or expired.
 */
export function authenticateBootstrapToken(
  lister: Lister<Secret & KubeObject>,
  token: string,
  now: number = Date.now(),
): User | undefined {
  const found = tokenSecret(lister, token, "bootstrap-token-", bootstrapTokenType);
  if (!found) return undefined;
  if (unb64(found.secret.data?.["usage-bootstrap-authentication"]) !== "true") return undefined;
  if (!live(found.secret, now)) return undefined;
  return { name: `${bootstrapUserPrefix}${found.id}`, groups: [bootstrapGroup] };
}

/**
 * The Secret `kube-system/<prefix><id>` of `type` that a token `<id>.<secret>` names, when its
 * token-secret matches (compared in constant time); the bootstrap and user token authenticators'
 * common part.
 */
export function tokenSecret(
  lister: Lister<Secret & KubeObject>,
  token: string,
  prefix: string,
  type: string,
): { id: string; secret: DeepReadonly<Secret & KubeObject> } | undefined {
  const m = tokenPattern.exec(token);
  if (!m) return undefined;
  const secret = lister.get(`kube-system/${prefix}${m[1]}`);
  if (!secret || secret.type !== type) return undefined;
  const want = Buffer.from(unb64(secret.data?.["token-secret"]));
  const got = Buffer.from(m[2]!);
  return want.length === got.length && timingSafeEqual(want, got) ? { id: m[1]!, secret } : undefined;
}

export const bootstrapUserPrefix = "system:bootstrap:";

/** Neither expired nor used up. A token without an expiration (made before they were required) counts as expired. */
function live(secret: DeepReadonly<Secret>, now: number): boolean {
  const expiration = Date.parse(unb64(secret.data?.expiration));
  const uses = secret.data?.[usesRemainingKey];
  return expiration > now && (uses === undefined || Number(unb64(uses)) > 0);
}

/** The id and secret of every live token that may sign cluster-info. */
export function signingTokens(
  lister: Lister<Secret & KubeObject>,
  now: number = Date.now(),
): { id: string; secret: string }[] {
  return lister
    .list()
    .filter(
      (s) =>
        s.metadata.namespace === "kube-system" &&
        s.type === bootstrapTokenType &&
        unb64(s.data?.["usage-bootstrap-signing"]) === "true" &&
        live(s, now),
    )
    .map((s) => ({ id: unb64(s.data?.["token-id"]), secret: unb64(s.data?.["token-secret"]) }))
    .filter((t) => tokenPattern.test(`${t.id}.${t.secret}`));
}

/**
 * Spends one use of the token a bootstrap user authenticated with, when the token counts its
 * uses. Throws Forbidden when none is left (two joins racing for the last use: one wins, by the
 * Secret's resourceVersion).
 */
export async function spendBootstrapTokenUse(registry: Registry, user: User): Promise<void> {
  if (!user.name.startsWith(bootstrapUserPrefix)) return;
  const name = `bootstrap-token-${user.name.slice(bootstrapUserPrefix.length)}`;
  for (;;) {
    const secret = (await registry.get(secrets, "kube-system", name)) as Secret & KubeObject;
    const uses = secret.data?.[usesRemainingKey];
    if (uses === undefined) return;
    const left = Number(unb64(uses));
    if (!(left > 0)) throw new ApiError("Forbidden", `bootstrap token "${name.slice(16)}" has no uses left`);
    try {
      await registry.update(secrets, "kube-system", name, {
        ...secret,
        data: { ...secret.data, [usesRemainingKey]: b64(String(left - 1)) },
      });
      return;
    } catch (err) {
      if (!isApiError(err, "Conflict")) throw err;
    }
  }
}

/**
 * Whether `user` authenticated with a bootstrap token marked for control-plane joins. Other
 * tokens, which any new node may hold, must never get the cluster's keys.
 */
export function mayJoinControlPlane(lister: Lister<Secret & KubeObject>, user: User): boolean {
  if (!user.name.startsWith(bootstrapUserPrefix)) return false;
  const secret = lister.get(`kube-system/bootstrap-token-${user.name.slice(bootstrapUserPrefix.length)}`);
  return secret?.type === bootstrapTokenType && unb64(secret.data?.[controlPlaneUsageKey]) === "true";
}
