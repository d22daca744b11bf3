/**
 * Validation of ConfigMaps and Secrets: key syntax, no key in both data maps, a total size of at
 * most 1 MiB, the keys that typed Secrets need; on update, objects marked immutable stay as they are.
 */

import { isDeepStrictEqual } from "node:util";
import type { ConfigMap, Secret } from "../../../proto/gen/api.js";
import { type Causes, configKeyErrors, key } from "./field.js";

/** Kubernetes' limit on the data of one ConfigMap or Secret. */
export const maxDataSize = 1024 * 1024;

const requiredSecretKeys: Record<string, readonly string[]> = {
  "kubernetes.io/tls": ["tls.crt", "tls.key"],
  "kubernetes.io/dockerconfigjson": [".dockerconfigjson"],
  "kubernetes.io/dockercfg": [".dockercfg"],
  "kubernetes.io/ssh-auth": ["ssh-privatekey"],
};

function validateKeys(c: Causes, path: string, data: Record<string, string> | undefined): void {
  for (const k of Object.keys(data ?? {})) c.syntax(path, k, configKeyErrors(k));
}

export function validateConfigMap(c: Causes, cm: ConfigMap): void {
  validateKeys(c, "data", cm.data);
  validateKeys(c, "binaryData", cm.binaryData);
  let size = 0;
  for (const [k, v] of Object.entries(cm.data ?? {})) size += Buffer.byteLength(k) + Buffer.byteLength(v);
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) {
    size += Buffer.byteLength(k) + Buffer.from(v, "base64").length;
    if (cm.data && Object.hasOwn(cm.data, k)) c.duplicate(key("binaryData", k), k);
  }
  if (size > maxDataSize) c.tooLong("", maxDataSize);
}

export function validateSecret(c: Causes, secret: Secret): void {
  validateKeys(c, "data", secret.data);
  validateKeys(c, "stringData", secret.stringData);
  let size = 0;
  for (const [k, v] of Object.entries(secret.data ?? {}))
    size += Buffer.byteLength(k) + Buffer.from(v, "base64").length;
  if (size > maxDataSize) c.tooLong("data", maxDataSize);
  for (const k of requiredSecretKeys[secret.type ?? ""] ?? []) {
    if (!secret.data || !Object.hasOwn(secret.data, k))
      c.required(key("data", k), `type ${secret.type} needs it`);
  }
  const dockerKey = dockerConfigKeys[secret.type ?? ""];
  const dockerValue = dockerKey ? secret.data?.[dockerKey] : undefined;
  if (dockerKey && dockerValue !== undefined) validateDockerConfig(c, key("data", dockerKey), dockerValue);
}

const dockerConfigKeys: Record<string, string> = {
  "kubernetes.io/dockerconfigjson": ".dockerconfigjson",
  "kubernetes.io/dockercfg": ".dockercfg",
};

/** As upstream: the value must be a JSON object. */
function validateDockerConfig(c: Causes, field: string, base64: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(base64, "base64").toString("utf8"));
  } catch {
    // Node's JSON.parse message quotes the text around the fault, which would be the secret.
    c.invalid(field, "<secret contents redacted>", "must be valid JSON");
    return;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    c.invalid(field, "<secret contents redacted>", "must be a JSON object");
}

/** Once `immutable: true` is stored, the data maps and the flag itself can no longer change. */
export function validateImmutableData(
  c: Causes,
  obj: { immutable?: boolean; data?: unknown; binaryData?: unknown; type?: string },
  old: { immutable?: boolean; data?: unknown; binaryData?: unknown; type?: string },
): void {
  if (!old.immutable) return;
  if (!obj.immutable) c.forbidden("immutable", "field is immutable when `immutable` is set");
  for (const f of ["data", "binaryData", "type"] as const) {
    if (!isDeepStrictEqual(obj[f] ?? {}, old[f] ?? {}))
      c.forbidden(f, "field is immutable when `immutable` is set");
  }
}
