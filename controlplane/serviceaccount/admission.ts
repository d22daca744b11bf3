/**
 * The ServiceAccount admission step for new pods, as upstream's plugin: the pod runs as
 * `spec.serviceAccountName` ("default" when left out), which must exist; a pod naming no
 * `imagePullSecrets` gets the account's; unless the pod or its
 * ServiceAccount opts out with `automountServiceAccountToken: false`, it gets the projected volume
 * `kube-api-access-<suffix>` (a bound token, the cluster CA, its namespace) mounted read-only at
 * /var/run/secrets/kubernetes.io/serviceaccount in every container that has nothing there yet,
 * which is where in-cluster clients (client-go's and client-node's loadFromCluster) look.
 */

import { ApiError } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import type { ResourceInfo } from "../../foundation/api/resource-info.js";
import type { Container, Pod, ServiceAccount, Volume } from "../../proto/gen/api.js";
import type { AdmissionPlugin } from "../registry/index.js";
import { generatedName } from "../registry/lifecycle.js";

export const serviceAccountMountPath = "/var/run/secrets/kubernetes.io/serviceaccount";
export const defaultServiceAccountName = "default";
/** The ConfigMap the root-CA publisher keeps in every namespace. */
export const rootCaConfigMapName = "kube-root-ca.crt";
/**
 * Upstream's lifetime for the token in the volume: an hour, plus 7 s so the kubelet's refresh
 * (at 80% of it) is recognisably not the user's own choice.
 */
export const podTokenExpirationSeconds = 3607;

export interface ServiceAccountAdmissionOptions {
  /** A live read of a ServiceAccount; undefined when there is none. */
  getServiceAccount(namespace: string, name: string): Promise<ServiceAccount | undefined>;
  /**
   * How long to keep looking for the `default` ServiceAccount of a namespace created a moment ago,
   * before its controller made one (upstream waits the same way); 0 in unit tests.
   */
  defaultAccountWaitMs?: number;
  random?: () => number;
}

/** The token volume, as upstream builds it. */
export function apiAccessVolume(name: string): Volume {
  return {
    name,
    projected: {
      defaultMode: 0o644,
      sources: [
        { serviceAccountToken: { expirationSeconds: podTokenExpirationSeconds, path: "token" } },
        { configMap: { name: rootCaConfigMapName, items: [{ key: "ca.crt", path: "ca.crt" }] } },
        {
          downwardAPI: {
            items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }],
          },
        },
      ],
    },
  };
}

export function serviceAccountAdmission(opts: ServiceAccountAdmissionOptions): AdmissionPlugin {
  const random = opts.random ?? Math.random;
  const waitMs = opts.defaultAccountWaitMs ?? 5000;

  async function lookup(namespace: string, name: string): Promise<ServiceAccount | undefined> {
    const deadline = Date.now() + (name === defaultServiceAccountName ? waitMs : 0);
    for (;;) {
      const sa = await opts.getServiceAccount(namespace, name);
      if (sa || Date.now() >= deadline) return sa;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  return {
    name: "ServiceAccount",
    async admitCreate(info: ResourceInfo, obj: KubeObject) {
      if (info.group !== "" || info.kind !== "Pod") return;
      const pod = obj as Pod & KubeObject;
      pod.spec ??= {};
      const spec = pod.spec;
      const name = spec.serviceAccountName || spec.serviceAccount || defaultServiceAccountName;
      spec.serviceAccountName = name;
      spec.serviceAccount = name;
      const namespace = pod.metadata.namespace!;
      const sa = await lookup(namespace, name);
      if (!sa) {
        throw new ApiError(
          "Forbidden",
          `pods "${pod.metadata.name ?? pod.metadata.generateName ?? ""}" is forbidden: error looking up service account ${namespace}/${name}: serviceaccount "${name}" not found`,
          { kind: "pods", ...(pod.metadata.name ? { name: pod.metadata.name } : {}) },
        );
      }
      // As upstream: the account's pull secrets only when the pod names none of its own.
      if (!spec.imagePullSecrets?.length && sa.imagePullSecrets?.length)
        spec.imagePullSecrets = sa.imagePullSecrets.map((r) => ({ ...r }));
      if ((spec.automountServiceAccountToken ?? sa.automountServiceAccountToken ?? true) === false) return;
      const containers: Container[] = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
      const needing = containers.filter(
        (c) => !(c.volumeMounts ?? []).some((m) => m.mountPath === serviceAccountMountPath),
      );
      if (needing.length === 0) return;
      const taken = new Set((spec.volumes ?? []).map((v) => v.name));
      let volumeName: string;
      do volumeName = generatedName("kube-api-access-", random);
      while (taken.has(volumeName));
      spec.volumes = [...(spec.volumes ?? []), apiAccessVolume(volumeName)];
      for (const c of needing) {
        c.volumeMounts = [
          ...(c.volumeMounts ?? []),
          { name: volumeName, mountPath: serviceAccountMountPath, readOnly: true },
        ];
      }
    },
  };
}
