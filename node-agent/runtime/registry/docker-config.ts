/**
 * Registry credentials from a Kubernetes image pull secret's value: `.dockerconfigjson`
 * (`{"auths": {HOST: {...}}}`) or the older `.dockercfg` (`{HOST: {...}}`). Each entry has
 * `auth` (base64 `user:password`), or `username`/`password`, or an `identitytoken`. Keys may be
 * URLs (`https://index.docker.io/v1/`); they are reduced to the host references use (`docker.io`).
 */
import { RegistryError } from "./errors.js";

export interface Credentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (docker's `identitytoken`), exchanged at the token realm. */
  identityToken?: string;
}

export type SecretKind = ".dockerconfigjson" | ".dockercfg";

/** Credentials by registry host. Throws `Invalid` naming the secret and the bad field. */
export function parseDockerConfig(text: string, kind: SecretKind, where: string): Map<string, Credentials> {
  const bad = (field: string, why: string) => new RegistryError("Invalid", `${where}: ${field}: ${why}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new RegistryError("Invalid", `${where}: ${kind} is not valid JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw bad(kind, "must be an object");
  let auths: unknown = parsed;
  let prefix = "";
  if (kind === ".dockerconfigjson") {
    auths = (parsed as { auths?: unknown }).auths ?? {};
    prefix = "auths";
    if (typeof auths !== "object" || auths === null || Array.isArray(auths))
      throw bad("auths", "must be an object");
  }
  const out = new Map<string, Credentials>();
  for (const [key, raw] of Object.entries(auths as Record<string, unknown>)) {
    const field = `${prefix}["${key}"]`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw bad(field, "must be an object");
    const entry = raw as Record<string, unknown>;
    const str = (name: string): string | undefined => {
      const v = entry[name];
      if (v === undefined || v === null || v === "") return undefined;
      if (typeof v !== "string") throw bad(`${field}.${name}`, "must be a string");
      return v;
    };
    const creds: Credentials = {};
    const auth = str("auth");
    if (auth !== undefined) {
      const decoded = Buffer.from(auth, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(auth) || colon <= 0) {
        throw bad(`${field}.auth`, 'must be base64 of "username:password"');
      }
      creds.username = decoded.slice(0, colon);
      creds.password = decoded.slice(colon + 1);
    } else {
      const username = str("username");
      const password = str("password");
      if (username !== undefined) creds.username = username;
      if (password !== undefined) creds.password = password;
    }
    const identityToken = str("identitytoken");
    if (identityToken !== undefined) creds.identityToken = identityToken;
    if (creds.username === undefined && creds.identityToken === undefined) {
      throw bad(field, "has no auth, username or identitytoken");
    }
    out.set(registryHost(key), creds);
  }
  return out;
}

/** `https://index.docker.io/v1/` → `docker.io`; `my.registry:5000/path` → `my.registry:5000`. */
export function registryHost(key: string): string {
  const host = key
    .replace(/^[a-z]+:\/\//i, "")
    .replace(/\/.*$/, "")
    .toLowerCase();
  if (host === "index.docker.io" || host === "registry-1.docker.io" || host === "registry.hub.docker.com") {
    return "docker.io";
  }
  return host;
}
