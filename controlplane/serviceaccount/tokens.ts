/**
 * ServiceAccount tokens as upstream mints them for TokenRequest: JWTs (ES256) whose standard claims
 * say who issued them (`iss`), for whom (`aud`), for how long (`iat`/`nbf`/`exp`) and for which
 * account (`sub` = `system:serviceaccount:<ns>:<name>`), and whose `kubernetes.io` claim binds them
 * to the ServiceAccount's uid and, for a pod's token, to the pod's uid. The binding is what makes a
 * token die with its pod: the authenticator checks both objects still exist with those uids.
 */
import { createHash, createPublicKey, type KeyObject, randomUUID, sign, verify } from "node:crypto";

/** The issuer and default audience, as kubeadm configures kube-apiserver. */
export const defaultIssuer = "https://kubernetes.default.svc.cluster.local";

/** Upstream's bounds on a requested lifetime: at least 10 minutes; one hour when not asked. */
export const minExpirationSeconds = 600;
export const defaultExpirationSeconds = 3600;
/** Leeway for clocks that disagree a little between control planes and nodes (go-jose's default). */
const leewaySeconds = 60;

export interface BoundObject {
  name: string;
  uid: string;
}

export interface KubernetesClaims {
  namespace: string;
  serviceaccount: BoundObject;
  pod?: BoundObject;
  node?: BoundObject;
}

export interface ServiceAccountClaims {
  iss: string;
  sub: string;
  aud: string[];
  iat: number;
  nbf: number;
  exp: number;
  jti: string;
  "kubernetes.io": KubernetesClaims;
}

export interface TokenRequestInput {
  namespace: string;
  serviceAccount: BoundObject;
  pod?: BoundObject;
  node?: BoundObject;
  audiences: readonly string[];
  expirationSeconds: number;
  nowMs: number;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

export const serviceAccountUser = (namespace: string, name: string) =>
  `system:serviceaccount:${namespace}:${name}`;

/** Signs and checks tokens with the control plane's service-account key (an EC P-256 private key). */
export class TokenSigner {
  private readonly publicKey: KeyObject;
  readonly keyId: string;

  constructor(
    private readonly privateKey: KeyObject,
    readonly issuer = defaultIssuer,
  ) {
    this.publicKey = createPublicKey(privateKey);
    // As upstream: the key id is a digest of the public key, so verifiers can pick among keys.
    this.keyId = b64url(
      createHash("sha256")
        .update(this.publicKey.export({ type: "spki", format: "der" }))
        .digest(),
    );
  }

  issue(input: TokenRequestInput): { token: string; claims: ServiceAccountClaims } {
    const iat = Math.floor(input.nowMs / 1000);
    const k8s: KubernetesClaims = { namespace: input.namespace, serviceaccount: input.serviceAccount };
    if (input.pod) k8s.pod = input.pod;
    if (input.node) k8s.node = input.node;
    const claims: ServiceAccountClaims = {
      iss: this.issuer,
      sub: serviceAccountUser(input.namespace, input.serviceAccount.name),
      aud: [...input.audiences],
      iat,
      nbf: iat,
      exp: iat + input.expirationSeconds,
      jti: randomUUID(),
      "kubernetes.io": k8s,
    };
    const head = b64url(JSON.stringify({ alg: "ES256", kid: this.keyId }));
    const body = b64url(JSON.stringify(claims));
    const sig = sign("sha256", Buffer.from(`${head}.${body}`), {
      key: this.privateKey,
      dsaEncoding: "ieee-p1363",
    });
    return { token: `${head}.${body}.${b64url(sig)}`, claims };
  }

  /**
   * The claims of a token this signer issued, if its signature, issuer, time window and audience
   * hold; undefined otherwise (including for tokens that are not JWTs at all, such as bootstrap
   * tokens, so callers can try the next authenticator).
   */
  verify(token: string, audiences: readonly string[], nowMs: number): ServiceAccountClaims | undefined {
    const parts = token.split(".");
    if (parts.length !== 3) return undefined;
    const [head, body, sig] = parts as [string, string, string];
    const header = parseJson(head);
    if (header?.alg !== "ES256" || header.kid !== this.keyId) return undefined;
    const ok = verify(
      "sha256",
      Buffer.from(`${head}.${body}`),
      { key: this.publicKey, dsaEncoding: "ieee-p1363" },
      Buffer.from(sig, "base64url"),
    );
    if (!ok) return undefined;
    const claims = parseJson(body) as ServiceAccountClaims | undefined;
    if (!claims || claims.iss !== this.issuer) return undefined;
    const now = nowMs / 1000;
    if (typeof claims.exp !== "number" || now > claims.exp + leewaySeconds) return undefined;
    if (typeof claims.nbf === "number" && now < claims.nbf - leewaySeconds) return undefined;
    if (!Array.isArray(claims.aud) || !claims.aud.some((a) => audiences.includes(a))) return undefined;
    const k8s = claims["kubernetes.io"];
    if (!k8s?.namespace || !k8s.serviceaccount?.name || !k8s.serviceaccount.uid) return undefined;
    if (claims.sub !== serviceAccountUser(k8s.namespace, k8s.serviceaccount.name)) return undefined;
    return claims;
  }
}

function parseJson(part: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
