/**
 * A container's environment and command line as the kubelet makes them: `envFrom` sources first (with
 * their prefix), then `env` in order, a later name replacing an earlier one; values from `value`
 * (with `$(VAR)` references to variables defined before it), ConfigMap and Secret keys (missing ones
 * are errors unless `optional`), and the pod's own fields (`fieldRef`). `command` and `args` are
 * expanded against the result. Errors name the field path and become the container's
 * `CreateContainerConfigError`.
 */
import type { Container, Pod } from "../../proto/gen/api.js";
import { configMapData, type ObjectLookup, secretData } from "./object-lookup.js";

export class EnvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EnvError";
  }
}

export interface PodRuntimeFields {
  podIP?: string;
  hostIP?: string;
}

export interface ResolvedEnv {
  env: { name: string; value: string }[];
  command: string[] | undefined;
  args: string[] | undefined;
  /** envFrom keys skipped because they are not valid variable names (the kubelet warns about these). */
  invalidKeys: string[];
}

/**
 * Expands `$(NAME)` references in `input` like Kubernetes: `$$` is a literal `$`, a reference to a
 * name `lookup` does not know stays as written, and a `$` not followed by `(` or `$` is kept.
 */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = "";
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c !== "$" || i + 1 >= input.length) {
      out += c;
      i++;
      continue;
    }
    const next = input[i + 1]!;
    if (next === "$") {
      out += "$";
      i += 2;
    } else if (next === "(") {
      const close = input.indexOf(")", i + 2);
      if (close < 0) {
        out += "$(";
        i += 2;
      } else {
        const name = input.slice(i + 2, close);
        out += lookup(name) ?? `$(${name})`;
        i = close + 1;
      }
    } else {
      out += `$${next}`;
      i += 2;
    }
  }
  return out;
}

// Kubernetes allows any printable ASCII except '=' in env names (RelaxedEnvironmentVariableValidation).
const ENV_NAME = /^[\x21-\x3c\x3e-\x7e]+$/;

/** The value of a `fieldRef.fieldPath` of the pod, or an error naming the path. */
export function podField(pod: Pod, fieldPath: string, runtime: PodRuntimeFields, where: string): string {
  const meta = pod.metadata;
  const indexed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (indexed) {
    const map = indexed[1] === "labels" ? meta.labels : meta.annotations;
    return map?.[indexed[2]!] ?? "";
  }
  switch (fieldPath) {
    case "metadata.name":
      return meta.name ?? "";
    case "metadata.namespace":
      return meta.namespace ?? "";
    case "metadata.uid":
      return meta.uid ?? "";
    case "spec.nodeName":
      return pod.spec?.nodeName ?? "";
    case "status.podIP":
    case "status.podIPs":
      return runtime.podIP ?? "";
    case "status.hostIP":
    case "status.hostIPs":
      return runtime.hostIP ?? "";
    default:
      throw new EnvError(`${where}.fieldPath: "${fieldPath}" is not a supported field`);
  }
}

/**
 * Resolves container `c` (at field path `where`, e.g. `spec.containers[0]`) of `pod`. Throws
 * `EnvError` naming the field when a required ConfigMap, Secret or key is missing.
 */
export async function resolveEnv(
  pod: Pod,
  c: Container,
  where: string,
  lookup: ObjectLookup,
  runtime: PodRuntimeFields,
): Promise<ResolvedEnv> {
  const namespace = pod.metadata.namespace ?? "default";
  const vars = new Map<string, string>();
  const invalidKeys: string[] = [];

  for (const [i, from] of (c.envFrom ?? []).entries()) {
    const at = `${where}.envFrom[${i}]`;
    let data: Record<string, string> | undefined;
    if (from.configMapRef !== undefined) {
      const name = from.configMapRef.name ?? "";
      const cm = await lookup.configMap(namespace, name);
      if (cm === undefined && !from.configMapRef.optional) {
        throw new EnvError(`${at}.configMapRef: configmap "${name}" not found`);
      }
      data = cm && configMapData(cm);
    } else if (from.secretRef !== undefined) {
      const name = from.secretRef.name ?? "";
      const secret = await lookup.secret(namespace, name);
      if (secret === undefined && !from.secretRef.optional) {
        throw new EnvError(`${at}.secretRef: secret "${name}" not found`);
      }
      data = secret && secretData(secret);
    }
    for (const [key, value] of Object.entries(data ?? {})) {
      const name = `${from.prefix ?? ""}${key}`;
      if (ENV_NAME.test(name)) vars.set(name, value);
      else invalidKeys.push(name);
    }
  }

  for (const [i, e] of (c.env ?? []).entries()) {
    const at = `${where}.env[${i}]`;
    const name = e.name ?? "";
    const from = e.valueFrom;
    if (from === undefined) {
      vars.set(
        name,
        expand(e.value ?? "", (n) => vars.get(n)),
      );
      continue;
    }
    const value = await valueFrom(pod, from, `${at}.valueFrom`, namespace, lookup, runtime);
    if (value !== undefined) vars.set(name, value);
  }

  const lookupVar = (n: string) => vars.get(n);
  return {
    env: [...vars].map(([name, value]) => ({ name, value })),
    command: c.command?.map((s) => expand(s, lookupVar)),
    args: c.args?.map((s) => expand(s, lookupVar)),
    invalidKeys,
  };
}

async function valueFrom(
  pod: Pod,
  from: NonNullable<NonNullable<Container["env"]>[number]["valueFrom"]>,
  at: string,
  namespace: string,
  lookup: ObjectLookup,
  runtime: PodRuntimeFields,
): Promise<string | undefined> {
  if (from.fieldRef !== undefined)
    return podField(pod, from.fieldRef.fieldPath ?? "", runtime, `${at}.fieldRef`);
  if (from.configMapKeyRef !== undefined) {
    const { name = "", key = "", optional = false } = from.configMapKeyRef;
    const cm = await lookup.configMap(namespace, name);
    if (cm === undefined) {
      if (optional) return undefined;
      throw new EnvError(`${at}.configMapKeyRef: configmap "${name}" not found`);
    }
    const value = configMapData(cm)[key];
    if (value === undefined && !optional) {
      throw new EnvError(`${at}.configMapKeyRef: couldn't find key ${key} in ConfigMap ${namespace}/${name}`);
    }
    return value;
  }
  if (from.secretKeyRef !== undefined) {
    const { name = "", key = "", optional = false } = from.secretKeyRef;
    const secret = await lookup.secret(namespace, name);
    if (secret === undefined) {
      if (optional) return undefined;
      throw new EnvError(`${at}.secretKeyRef: secret "${name}" not found`);
    }
    const value = secretData(secret)[key];
    if (value === undefined && !optional) {
      throw new EnvError(`${at}.secretKeyRef: couldn't find key ${key} in Secret ${namespace}/${name}`);
    }
    return value;
  }
  throw new EnvError(`${at}: one of fieldRef, configMapKeyRef or secretKeyRef is required`);
}
