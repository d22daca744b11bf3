/**
 * How the pod worker reads the ConfigMaps and Secrets a pod refers to (env `valueFrom`, `envFrom`,
 * configMap and secret volumes). The integrator backs it with the control plane (through the node's
 * authorised view); unit tests use a map. `undefined` means the object does not exist; any other
 * failure (the control plane is unreachable) is thrown and the worker retries later.
 */
import type { ConfigMap, Secret } from "../../proto/gen/api.js";

export interface ObjectLookup {
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
}

/** A Secret's keys with `data` base64-decoded and `stringData` on top, as the API server merges them. */
export function secretData(secret: Secret): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) out[k] = Buffer.from(v, "base64").toString("utf8");
  for (const [k, v] of Object.entries(secret.stringData ?? {})) out[k] = v;
  return out;
}

/** A ConfigMap's keys, `binaryData` base64-decoded. */
export function configMapData(cm: ConfigMap): Record<string, string> {
  const out: Record<string, string> = { ...(cm.data ?? {}) };
  for (const [k, v] of Object.entries(cm.binaryData ?? {}))
    out[k] = Buffer.from(v, "base64").toString("utf8");
  return out;
}
