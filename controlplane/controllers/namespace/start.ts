/**
 * Starts the namespace controller for one leadership term: the shared Namespace informer, the
 * shared informers of every namespaced resource (only to hear about deletions), the handlers and
 * the workers. The integrator calls `startNamespaceController` each time it starts leading.
 */

import type { KubeObject } from "../../../foundation/api/object.js";
import { resources as allResources, type ResourceInfo } from "../../../foundation/api/resources.js";
import type { Namespace } from "../../../proto/gen/api.js";
import {
  type ControllerRunDeps,
  type EventHandler,
  handle,
  type InformerFactory,
  type StartedController,
  startController,
} from "../../client/index.js";
import {
  type NamespaceContentLister,
  NamespaceController,
  namespacesResource,
} from "./namespace-controller.js";

export interface NamespaceControllerDeps extends ControllerRunDeps {
  /** The shared informer factory. */
  informers: Pick<InformerFactory, "informer">;
  /** Live lists of a namespace's content: pass the Registry (or anything with its `list`). */
  content: NamespaceContentLister;
  /** Namespaced resources to empty; default every namespaced resource in foundation/api/resources.ts. */
  resources?: readonly ResourceInfo[];
  /** Re-check delay while content remains: first, and ceiling (ms). Defaults 1 s and 30 s. */
  requeueBaseMs?: number;
  requeueMaxMs?: number;
}

/**
 * Starts the controller's workers until `deps.signal` aborts. Deps: `informers`, `content`,
 * `client` (patch, delete), `recorder` (component "namespace-controller"), `signal`; optionally
 * `workers` (default 5), `clock` (drives the requeue delays), `metrics`, `onError`.
 */
export function startNamespaceController(
  deps: NamespaceControllerDeps,
): StartedController<NamespaceController> {
  const content = (deps.resources ?? allResources).filter((info) => info.namespaced);
  const namespaces = deps.informers.informer<Namespace & KubeObject>(namespacesResource);
  const contentInformers = content.map((info) => deps.informers.informer<KubeObject>(info));
  return startController(deps, {
    name: "namespace",
    build: (queue) =>
      new NamespaceController({
        namespaces: namespaces.lister,
        contentResources: content,
        content: deps.content,
        client: deps.client,
        recorder: deps.recorder,
        queue,
        ...(deps.requeueBaseMs !== undefined ? { requeueBaseMs: deps.requeueBaseMs } : {}),
        ...(deps.requeueMaxMs !== undefined ? { requeueMaxMs: deps.requeueMaxMs } : {}),
      }),
    handlers: (c) => [
      handle(namespaces, c.namespaceHandler as EventHandler<Namespace & KubeObject>),
      ...contentInformers.map((informer) => handle(informer, c.contentHandler)),
    ],
  });
}
