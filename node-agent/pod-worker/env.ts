/**
 * A container's environment as the kubelet builds it: `envFrom` sources first (ConfigMaps and
 * Secrets, with an optional prefix), then `env` in order, each `value` expanded with `$(VAR)` from
 * the variables defined before it; `valueFrom` reads a ConfigMap or Secret key or a field of the
 * pod. Command and args are expanded the same way. A missing, non-optional source is an error
 * that names it, and the container does not start (CreateContainerConfigError).
 */
import type { Container, Pod } from "../../proto/gen/api.js";
import { keyValues, type ObjectLookup } from "./object-lookup.js";

export class EnvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EnvError";
  }
}

/**
 * Expands `$(NAME)` with `vars`; `$$` is a literal `$`; unknown names stay as written, like
 * Kubernetes. `$(A)` with A="x" → "x"; `$$(A)` → "$(A)"; `$(B)` with B unknown → "$(B)".
 */
export function expand(text: string, vars: ReadonlyMap<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === "$$") return "$";
    return name !== undefined && vars.has(name) ? vars.get(name)! : match;
  });
}

/** Pod fields available to `fieldRef`, as the downward API defines them. */
export function podField(pod: Pod, path: string, podIP: string, hostIP: string): string {
  const labels = /^metadata\.labels\['(.+)'\]$/.exec(path);
  if (labels) return pod.metadata.labels?.[labels[1]!] ?? "";
  const annotations = /^metadata\.annotations\['(.+)'\]$/.exec(path);
  if (annotations) return pod.metadata.annotations?.[annotations[1]!] ?? "";
  switch (path) {
    case "metadata.name":
      return pod.metadata.name ?? "";
    case "metadata.namespace":
      return pod.metadata.namespace ?? "";
    case "metadata.uid":
      return pod.metadata.uid ?? "";
    case "spec.nodeName":
      return pod.spec?.nodeName ?? "";
    case "spec.serviceAccountName":
      return "";
    case "status.podIP":
    case "status.podIPs":
      return podIP;
    case "status.hostIP":
    case "status.hostIPs":
      return hostIP;
    default:
      throw new EnvError(`fieldRef: unsupported fieldPath "${path}"`);
  }
}

export interface ResolvedProcess {
  env: Map<string, string>;
  command: string[] | undefined;
  args: string[] | undefined;
}

export async function resolveEnv(
  pod: Pod,
  container: Container,
  lookup: ObjectLookup,
  ips: { podIP: string; hostIP: string },
  /** Variables every container gets first, e.g. Service discovery variables. */
  base: ReadonlyMap<string, string> = new Map(),
): Promise<ResolvedProcess> {
  const ns = pod.metadata.namespace ?? "default";
  const env = new Map(base);
  for (const [i, from] of (container.envFrom ?? []).entries()) {
    const ref = from.configMapRef ?? from.secretRef;
    const kind = from.configMapRef ? "ConfigMap" : "Secret";
    if (!ref?.name) continue;
    const values = await keyValues(lookup, kind, ns, ref.name);
    if (!values) {
      if (ref.optional) continue;
      throw new EnvError(`envFrom[${i}]: ${kind.toLowerCase()} "${ref.name}" not found`);
    }
    for (const [k, v] of Object.entries(values)) env.set(`${from.prefix ?? ""}${k}`, v);
  }
  for (const [i, e] of (container.env ?? []).entries()) {
    if (!e.name) continue;
    if (e.valueFrom) {
      const src = e.valueFrom;
      if (src.fieldRef?.fieldPath) {
        env.set(e.name, podField(pod, src.fieldRef.fieldPath, ips.podIP, ips.hostIP));
        continue;
      }
      const ref = src.configMapKeyRef ?? src.secretKeyRef;
      const kind = src.configMapKeyRef ? "ConfigMap" : "Secret";
      if (!ref?.name || !ref.key) continue;
      const values = await keyValues(lookup, kind, ns, ref.name);
      const value = values?.[ref.key];
      if (value === undefined) {
        if (ref.optional) continue;
        throw new EnvError(
          `env[${i}] ${e.name}: ${values ? `key "${ref.key}" not in` : "no"} ${kind.toLowerCase()} "${ref.name}"`,
        );
      }
      env.set(e.name, value);
      continue;
    }
    env.set(e.name, expand(e.value ?? "", env));
  }
  const command = container.command?.map((c) => expand(c, env));
  const args = container.args?.map((a) => expand(a, env));
  return { env, command, args };
}
