/**
 * Bootstrap tokens, as in Kubernetes (kubeadm): `abcdef.0123456789abcdef`, stored as a Secret
 * `kube-system/bootstrap-token-<id>` of type `bootstrap.kubernetes.io/token` with an expiration. A
 * new node presents one to join; it authenticates as `system:bootstrap:<id>` in the group
 * `system:bootstrappers`, which may call only the join endpoint.
 */
import { randomInt, timingSafeEqual } from "node:crypto";
import type { Secret } from "../../proto/gen/api.js";
import { ApiError } from "../api/errors.js";
import type { KubeObject } from "../api/object.js";
import { resourceForKind } from "../api/resources.js";
import { bootstrapGroup, type User } from "../apiserver/index.js";
import type { Lister } from "../client/index.js";
import type { Registry } from "../registry/index.js";
import { rfc3339 } from "../util/time.js";

const secrets = resourceForKind("v1", "Secret")!;
export const bootstrapTokenType = "bootstrap.kubernetes.io/token";
const tokenPattern = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

export function isBootstrapToken(token: string): boolean {
  return tokenPattern.test(token);
}

export function generateBootstrapToken(): string {
  const pick = (n: number) => Array.from({ length: n }, () => alphabet[randomInt(alphabet.length)]).join("");
  return `${pick(6)}.${pick(16)}`;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");
const unb64 = (s: string | undefined) => Buffer.from(s ?? "", "base64").toString();

export interface BootstrapTokenOptions {
  token: string;
  /** 0: no expiry. */
  ttlSeconds: number;
  description?: string;
  now?: number;
}

/** The Secret that records `token`; throws BadRequest when the token is not in the kubeadm format. */
export function bootstrapTokenSecret(opts: BootstrapTokenOptions): Secret & KubeObject {
  const m = tokenPattern.exec(opts.token);
  if (!m)
    throw new ApiError(
      "BadRequest",
      `bootstrap token "${opts.token}" must look like abcdef.0123456789abcdef`,
    );
  const data: Record<string, string> = {
    "token-id": b64(m[1]!),
    "token-secret": b64(m[2]!),
    "usage-bootstrap-authentication": b64("true"),
  };
  if (opts.ttlSeconds > 0) {
    data.expiration = b64(rfc3339((opts.now ?? Date.now()) + opts.ttlSeconds * 1000));
  }
  if (opts.description) data.description = b64(opts.description);
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: `bootstrap-token-${m[1]}`, namespace: "kube-system" },
    type: bootstrapTokenType,
    data,
  };
}

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
  const m = tokenPattern.exec(token);
  if (!m) return undefined;
  const secret = lister.get(`kube-system/bootstrap-token-${m[1]}`);
  if (!secret || secret.type !== bootstrapTokenType) return undefined;
  const want = Buffer.from(unb64(secret.data?.["token-secret"]));
  const got = Buffer.from(m[2]!);
  if (want.length !== got.length || !timingSafeEqual(want, got)) return undefined;
  if (unb64(secret.data?.["usage-bootstrap-authentication"]) !== "true") return undefined;
  const expiration = unb64(secret.data?.expiration);
  if (expiration && Date.parse(expiration) <= now) return undefined;
  return { name: `system:bootstrap:${m[1]}`, groups: [bootstrapGroup] };
}
