/**
 * A pod's pull secrets as the image puller takes them: each named Secret read through the agent's
 * object lookup (the control plane hands a node only secrets of pods bound to it), kept when its
 * type is `kubernetes.io/dockerconfigjson` or `kubernetes.io/dockercfg`. As the kubelet does, a
 * missing, unreadable or other-typed secret does not stop the pull; the caller reports them.
 */
import type { Secret } from "../../../proto/gen/api.js";
import type { PullSecret } from "./image-puller.js";

const KEYS: Record<string, PullSecret["kind"]> = {
  "kubernetes.io/dockerconfigjson": ".dockerconfigjson",
  "kubernetes.io/dockercfg": ".dockercfg",
};

export interface PodPullSecrets {
  secrets: PullSecret[];
  /** Secrets named but not found, or not of a docker config type, with why: for a warning event. */
  skipped: string[];
}

export async function readPullSecrets(
  namespace: string,
  names: readonly string[],
  lookup: { secret(namespace: string, name: string): Promise<Secret | undefined> },
): Promise<PodPullSecrets> {
  const out: PodPullSecrets = { secrets: [], skipped: [] };
  for (const name of names) {
    const where = `${namespace}/${name}`;
    let secret: Secret | undefined;
    try {
      secret = await lookup.secret(namespace, name);
    } catch (err) {
      // Refused (the control plane hands out only what the node's pods name) or unreachable: as
      // the kubelet, the pull goes on without it and fails there if the registry wants it.
      out.skipped.push(`secret ${where} could not be read: ${(err as Error).message.split("\n")[0]}`);
      continue;
    }
    if (!secret) {
      out.skipped.push(`secret ${where} not found`);
      continue;
    }
    const kind = KEYS[secret.type ?? ""];
    const data = kind ? secret.data?.[kind] : undefined;
    if (!kind || data === undefined) {
      out.skipped.push(
        kind
          ? `secret ${where} has no ${kind} key`
          : `secret ${where} is of type ${secret.type ?? "Opaque"}, not kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg`,
      );
      continue;
    }
    out.secrets.push({ name: where, kind, value: Buffer.from(data, "base64").toString("utf8") });
  }
  return out;
}
