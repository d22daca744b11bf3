/**
 * How a pod worker reads the ConfigMaps, Secrets and ServiceAccount tokens its pods use: through
 * the control plane (the agent's NodeService client).
 */
import type { ConfigMap, Pod, Secret } from "../../proto/gen/api.js";
import type { PodTokenKey } from "./token-manager.js";

export interface ObjectLookup {
  /** The object, or undefined when it does not exist. Throws when the control plane cannot answer. */
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
  /** A token for the pod's ServiceAccount, bound to the pod; absent where no tokens are served. */
  serviceAccountToken?(key: PodTokenKey): Promise<string>;
  /**
   * The host directory of the volume bound to `pod`'s claim `claimName`, made if it is this node's
   * local-path volume. Throws (an Error with a message for the pod's FailedMount) while the claim is
   * not usable here. Absent: this node serves no claims.
   */
  claimDirectory?(pod: Pod, claimName: string): Promise<string>;
}

/** Values of a ConfigMap's `data` or a Secret's decoded `data`, or undefined when missing. */
export async function keyValues(
  lookup: ObjectLookup,
  kind: "ConfigMap" | "Secret",
  namespace: string,
  name: string,
): Promise<Record<string, string> | undefined> {
  if (kind === "ConfigMap") {
    const cm = await lookup.configMap(namespace, name);
    return cm ? { ...(cm.data ?? {}) } : undefined;
  }
  const secret = await lookup.secret(namespace, name);
  if (!secret) return undefined;
  return Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]),
  );
}
