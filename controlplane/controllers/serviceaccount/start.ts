/** Starts the ServiceAccount controller (default accounts, root CA ConfigMaps) for one leadership term. */

import type { KubeObject } from "../../../foundation/api/object.js";
import type { ConfigMap, Namespace, ServiceAccount } from "../../../proto/gen/api.js";
import {
  type ControllerRunDeps,
  handle,
  type InformerFactory,
  type StartedController,
  startController,
} from "../../client/index.js";
import {
  configMapsResource,
  namespacesResource,
  ServiceAccountController,
  serviceAccountsResource,
} from "./controller.js";

export interface ServiceAccountControllerDeps extends ControllerRunDeps {
  informers: Pick<InformerFactory, "informer">;
  caPem: string;
}

export function startServiceAccountController(
  deps: ServiceAccountControllerDeps,
): StartedController<ServiceAccountController> {
  const namespaces = deps.informers.informer<Namespace & KubeObject>(namespacesResource);
  const accounts = deps.informers.informer<ServiceAccount & KubeObject>(serviceAccountsResource);
  const configMaps = deps.informers.informer<ConfigMap & KubeObject>(configMapsResource);
  return startController(deps, {
    name: "serviceaccount",
    build: (queue) =>
      new ServiceAccountController({
        namespaces: namespaces.lister,
        serviceAccounts: accounts.lister,
        configMaps: configMaps.lister,
        client: deps.client,
        caPem: deps.caPem,
        queue,
      }),
    handlers: (c) => [
      handle(namespaces, c.namespaceHandler),
      handle(accounts, c.ownedHandler),
      handle(configMaps, c.ownedHandler),
    ],
  });
}
