/**
 * The controllers' `ControllerClient` over the in-process registry: the same validation, defaults
 * and preconditions as an API call, without the HTTP hop. ApiErrors pass through unchanged, since
 * controllers branch on their reasons.
 */
import type { KubeObject } from "../../foundation/api/object.js";
import type { ApiObject, ControllerClient } from "../client/controller-client.js";
import type { Registry } from "../registry/index.js";

export function registryClient(registry: Registry): ControllerClient {
  const ns = (namespace: string) => namespace || undefined;
  return {
    get: async <T extends ApiObject>(info: Parameters<Registry["get"]>[0], namespace: string, name: string) =>
      (await registry.get(info, ns(namespace), name)) as unknown as T,
    create: async <T extends ApiObject>(info: Parameters<Registry["create"]>[0], namespace: string, obj: T) =>
      (await registry.create(info, obj, namespace ? { namespace } : {})) as unknown as T,
    update: async <T extends ApiObject>(info: Parameters<Registry["update"]>[0], obj: T) =>
      (await registry.update(info, obj.metadata.namespace, obj.metadata.name ?? "", obj)) as unknown as T,
    updateStatus: async <T extends ApiObject>(info: Parameters<Registry["updateStatus"]>[0], obj: T) =>
      (await registry.updateStatus(
        info,
        obj.metadata.namespace,
        obj.metadata.name ?? "",
        obj,
      )) as unknown as T,
    patch: async <T extends ApiObject>(
      info: Parameters<Registry["patch"]>[0],
      namespace: string,
      name: string,
      patch: Record<string, unknown>,
    ) => (await registry.patch(info, ns(namespace), name, patch, { type: "merge" })) as unknown as T,
    delete: async (info, namespace, name, opts = {}) => {
      await registry.delete(info, ns(namespace), name, {
        ...(opts.uid ? { preconditions: { uid: opts.uid } } : {}),
        ...(opts.propagationPolicy ? { propagationPolicy: opts.propagationPolicy } : {}),
        ...(opts.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: opts.gracePeriodSeconds } : {}),
      });
    },
  };
}

export type { KubeObject };
