/**
 * The ServiceAccount controller and the root-CA publisher, in one loop over namespaces (upstream
 * runs them as two controllers with the same shape): every active namespace has a ServiceAccount
 * `default` and a ConfigMap `kube-root-ca.crt` holding the cluster CA, which the pods' token volumes
 * read. `sync(namespace)` creates what is missing and puts back a CA that was changed; it leaves
 * terminating namespaces alone (their content is being deleted) and never deletes anything.
 */

import { isApiError } from "../../../foundation/api/errors.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import type { ConfigMap, Namespace, ServiceAccount } from "../../../proto/gen/api.js";
import type { ControllerClient } from "../../client/controller-client.js";
import type { EventHandler, Lister } from "../../client/index.js";
import { defaultServiceAccountName, rootCaConfigMapName } from "../../serviceaccount/admission.js";

export const namespacesResource = resourceForKind("v1", "Namespace")!;
export const serviceAccountsResource = resourceForKind("v1", "ServiceAccount")!;
export const configMapsResource = resourceForKind("v1", "ConfigMap")!;

export interface ServiceAccountControllerOptions {
  namespaces: Lister<Namespace>;
  serviceAccounts: Lister<ServiceAccount>;
  configMaps: Lister<ConfigMap>;
  client: ControllerClient;
  /** The cluster CA certificate (PEM) pods are to trust. */
  caPem: string;
  queue: { add(key: string): void };
}

export class ServiceAccountController {
  constructor(private readonly opts: ServiceAccountControllerOptions) {}

  readonly namespaceHandler: EventHandler<Namespace> = {
    onAdd: (ns) => this.opts.queue.add(ns.metadata.name!),
    onUpdate: (_old, ns) => this.opts.queue.add(ns.metadata.name!),
  };

  /** Owned objects: a deleted or changed one is put back. */
  readonly ownedHandler: EventHandler<ServiceAccount | ConfigMap> = {
    onUpdate: (_old, obj) => this.opts.queue.add(obj.metadata.namespace!),
    onDelete: (obj) => this.opts.queue.add(obj.metadata.namespace!),
  };

  async sync(namespace: string): Promise<void> {
    const ns = this.opts.namespaces.get(namespace);
    if (!ns || ns.metadata.deletionTimestamp || ns.status?.phase === "Terminating") return;
    if (!this.opts.serviceAccounts.get(`${namespace}/${defaultServiceAccountName}`)) {
      await this.createIgnoringExisting(serviceAccountsResource, namespace, {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: defaultServiceAccountName, namespace },
      });
    }
    const data = { "ca.crt": this.opts.caPem };
    const cm = this.opts.configMaps.get(`${namespace}/${rootCaConfigMapName}`);
    const metadata = {
      name: rootCaConfigMapName,
      namespace,
      annotations: { "kubernetes.io/description": rootCaDescription },
    };
    if (!cm) {
      await this.createIgnoringExisting(configMapsResource, namespace, {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata,
        data,
      });
    } else if (cm.data?.["ca.crt"] !== this.opts.caPem) {
      await this.opts.client.update(configMapsResource, {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { ...metadata, resourceVersion: cm.metadata.resourceVersion ?? "" },
        data,
      });
    }
  }

  /** A create the informer has not shown us yet may already be stored: that is success. */
  private async createIgnoringExisting(
    info: typeof namespacesResource,
    namespace: string,
    obj: ServiceAccount | ConfigMap,
  ): Promise<void> {
    try {
      await this.opts.client.create(info, namespace, obj);
    } catch (err) {
      if (!isApiError(err, "AlreadyExists")) throw err;
    }
  }
}

/** Upstream's wording, so tools that read it find what they expect. */
const rootCaDescription =
  "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";
