/**
 * The Secrets, ConfigMaps and PersistentVolumeClaims a pod names, as upstream's node authorizer graph reads them: from
 * every container's (init, app, ephemeral) `env[].valueFrom` and `envFrom[]`, from the pod's
 * `volumes[]` (`secret`, `configMap`, and the sources of `projected`) and `imagePullSecrets[]`.
 * A node may read exactly these for the pods bound to it. Fields this API does not model yet
 * (ephemeral containers, projected volumes, pull secrets) are read too, so a node keeps access to
 * what a pod needs as they land.
 */

export type ReferencedKind = "Secret" | "ConfigMap" | "PersistentVolumeClaim";

interface NameRef {
  name?: string;
}

interface ContainerRefs {
  env?: readonly { valueFrom?: { secretKeyRef?: NameRef; configMapKeyRef?: NameRef } }[];
  envFrom?: readonly { secretRef?: NameRef; configMapRef?: NameRef }[];
}

interface VolumeRefs {
  persistentVolumeClaim?: { claimName?: string };
  secret?: { secretName?: string };
  configMap?: NameRef;
  projected?: { sources?: readonly { secret?: NameRef; configMap?: NameRef }[] };
}

/** The parts of a pod's spec that can name a Secret or a ConfigMap. */
export interface PodWithReferences {
  spec?: {
    containers?: readonly ContainerRefs[];
    initContainers?: readonly ContainerRefs[];
    ephemeralContainers?: readonly ContainerRefs[];
    volumes?: readonly VolumeRefs[];
    imagePullSecrets?: readonly NameRef[];
  };
}

/** The names of the objects of `kind` the pod refers to (in the pod's own namespace). */
export function podReferences(pod: PodWithReferences, kind: ReferencedKind): Set<string> {
  const names = new Set<string>();
  const add = (name: string | undefined) => {
    if (name) names.add(name);
  };
  const secret = kind === "Secret";
  const spec = pod.spec ?? {};
  if (kind === "PersistentVolumeClaim") {
    for (const v of spec.volumes ?? []) add(v.persistentVolumeClaim?.claimName);
    return names;
  }
  for (const c of [
    ...(spec.initContainers ?? []),
    ...(spec.containers ?? []),
    ...(spec.ephemeralContainers ?? []),
  ]) {
    for (const e of c.env ?? [])
      add(secret ? e.valueFrom?.secretKeyRef?.name : e.valueFrom?.configMapKeyRef?.name);
    for (const e of c.envFrom ?? []) add(secret ? e.secretRef?.name : e.configMapRef?.name);
  }
  for (const v of spec.volumes ?? []) {
    add(secret ? v.secret?.secretName : v.configMap?.name);
    for (const s of v.projected?.sources ?? []) add(secret ? s.secret?.name : s.configMap?.name);
  }
  if (secret) for (const p of spec.imagePullSecrets ?? []) add(p.name);
  return names;
}
