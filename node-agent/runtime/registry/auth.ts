/**
 * Registry authentication: parses `WWW-Authenticate` challenges and answers them with Basic
 * credentials or with a bearer token from the challenge's realm (the docker token flow: GET
 * `realm?service=...&scope=...`, Basic-authenticated when there are credentials). Tokens are
 * cached per realm, service and scopes until shortly before they expire, so a pull asks once.
 */
import { sha256Digest } from "../images/digest.js";
import type { Credentials } from "./docker-config.js";
import { RegistryError, type RegistryErrorContext } from "./errors.js";
import { readBody, send } from "./http.js";
import type { Endpoint } from "./registry-config.js";

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="...",service="...",scope="..."` (and several challenges in one header). */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  // A bare word starts a challenge; `key=value` and `key="quoted"` are its parameters.
  const token = /([A-Za-z0-9._~+/-]+)(?:\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*)))?/g;
  for (const m of header.matchAll(token)) {
    const [whole, name, quoted, plain] = m;
    if (!whole.includes("=")) out.push({ scheme: name!.toLowerCase(), params: {} });
    else if (out.length > 0) {
      out[out.length - 1]!.params[name!.toLowerCase()] =
        quoted !== undefined ? quoted.replace(/\\(.)/g, "$1") : plain!;
    }
  }
  return out;
}

interface CachedToken {
  value: string;
  expiresAt: number;
}

/** Seconds a token lives when the issuer does not say (the token spec's default). */
const DEFAULT_TOKEN_SECONDS = 60;
/** Tokens are dropped this long before they expire, so a request never carries a dying one. */
const EXPIRY_MARGIN_MS = 5_000;
const TOKEN_RESPONSE_LIMIT = 1 << 20;

export class Authorizer {
  private readonly challenges = new Map<string, Challenge>();
  private readonly tokens = new Map<string, CachedToken>();

  constructor(
    private readonly credentialsFor: (registry: string) => Credentials | undefined,
    private readonly idleTimeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The Authorization header for `scopes` at `endpoint` from what is known, or undefined. */
  cached(endpoint: Endpoint, scopes: string[]): string | undefined {
    const challenge = this.challenges.get(endpoint.base);
    if (challenge === undefined) return undefined;
    if (challenge.scheme === "basic") return this.basic(endpoint);
    const token = this.tokens.get(this.tokenKey(endpoint, challenge, scopes));
    if (token === undefined || token.expiresAt <= this.now()) return undefined;
    return `Bearer ${token.value}`;
  }

  /**
   * Answers the challenge of a 401 from `endpoint`. Throws `Unauthorized` when it cannot (no
   * credentials for Basic, an unknown scheme, the token issuer refusing).
   */
  async authorize(
    endpoint: Endpoint,
    header: string | undefined,
    scopes: string[],
    context: RegistryErrorContext,
  ): Promise<string> {
    const challenge = parseChallenges(header ?? "").find(
      (c) => c.scheme === "bearer" || c.scheme === "basic",
    );
    if (challenge === undefined) {
      throw new RegistryError(
        "Unauthorized",
        `${endpoint.base}: 401 with no usable challenge (WWW-Authenticate: ${header ?? "missing"})`,
        { ...context, status: 401 },
      );
    }
    this.challenges.set(endpoint.base, challenge);
    if (challenge.scheme === "basic") {
      const basic = this.basic(endpoint);
      if (basic === undefined) {
        throw new RegistryError(
          "Unauthorized",
          `${endpoint.base}: asks for Basic credentials and none are configured for ${endpoint.registry}`,
          { ...context, status: 401 },
        );
      }
      return basic;
    }
    return `Bearer ${await this.fetchToken(endpoint, challenge, scopes, context)}`;
  }

  /**
   * Tokens are cached per identity too: a token got with one pull secret must never serve a pull
   * made with other credentials, or none.
   */
  private tokenKey(endpoint: Endpoint, challenge: Challenge, scopes: string[]): string {
    const creds = this.credentialsFor(endpoint.registry);
    const identity =
      creds === undefined
        ? ""
        : sha256Digest(JSON.stringify([creds.username, creds.password, creds.identityToken]));
    return JSON.stringify([challenge.params.realm, challenge.params.service, [...scopes].sort(), identity]);
  }

  private basic(endpoint: Endpoint): string | undefined {
    const creds = this.credentialsFor(endpoint.registry);
    if (creds?.username === undefined) return undefined;
    return `Basic ${Buffer.from(`${creds.username}:${creds.password ?? ""}`).toString("base64")}`;
  }

  private async fetchToken(
    endpoint: Endpoint,
    challenge: Challenge,
    scopes: string[],
    context: RegistryErrorContext,
  ): Promise<string> {
    const realm = challenge.params.realm;
    if (realm === undefined || !/^https?:\/\//.test(realm)) {
      throw new RegistryError(
        "BadResponse",
        `${endpoint.base}: bearer challenge has no http(s) realm`,
        context,
      );
    }
    const url = new URL(realm);
    const creds = this.credentialsFor(endpoint.registry);
    const headers: Record<string, string> = { Accept: "application/json" };
    let form: Buffer | undefined;
    if (creds?.identityToken !== undefined) {
      // An identity token is an OAuth2 refresh token: exchanged by POST, as docker does.
      const params = new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: creds.identityToken,
        client_id: "kctl",
        scope: scopes.join(" "),
      });
      if (challenge.params.service !== undefined) params.set("service", challenge.params.service);
      form = Buffer.from(params.toString());
      headers["Content-Type"] = "application/x-www-form-urlencoded";
    } else {
      if (challenge.params.service !== undefined) url.searchParams.set("service", challenge.params.service);
      for (const scope of scopes) url.searchParams.append("scope", scope);
      const basic = this.basic(endpoint);
      if (basic !== undefined) headers.Authorization = basic;
    }
    const res = await send({
      method: form !== undefined ? "POST" : "GET",
      url: url.toString(),
      headers,
      ...(form !== undefined ? { body: form } : {}),
      ca: endpoint.ca,
      idleTimeoutMs: this.idleTimeoutMs,
      context,
    });
    const body = await readBody(res, TOKEN_RESPONSE_LIMIT, context);
    if (res.status !== 200) {
      const who =
        creds?.identityToken !== undefined
          ? "the identity token"
          : creds?.username !== undefined
            ? `user "${creds.username}"`
            : "anonymous access";
      throw new RegistryError(
        res.status === 401 || res.status === 403 ? "Unauthorized" : "BadResponse",
        `token issuer ${url.origin}${url.pathname} refused ${who} for ${scopes.join(" ")}: HTTP ${res.status}`,
        { ...context, status: res.status },
      );
    }
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      throw new RegistryError("BadResponse", `token issuer ${url.origin}: answer is not JSON`, context);
    }
    const token = typeof parsed.token === "string" ? parsed.token : parsed.access_token;
    if (typeof token !== "string" || token === "") {
      throw new RegistryError("BadResponse", `token issuer ${url.origin}: answer has no token`, context);
    }
    const seconds =
      typeof parsed.expires_in === "number" && parsed.expires_in > 0
        ? parsed.expires_in
        : DEFAULT_TOKEN_SECONDS;
    this.tokens.set(this.tokenKey(endpoint, challenge, scopes), {
      value: token,
      expiresAt: this.now() + seconds * 1000 - EXPIRY_MARGIN_MS,
    });
    return token;
  }
}
