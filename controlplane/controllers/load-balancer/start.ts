/**
 * Starts the LoadBalancer address controller for one leadership term: the shared Service and
 * ConfigMap informers, the handlers and one worker (see controller.ts for why one).
 */

import type { KubeObject } from "../../../foundation/api/object.js";
import type { ConfigMap, Service } from "../../../proto/gen/api.js";
import {
  handle,
  type SerialControllerDeps,
  type StartedController,
  startSerialController,
} from "../../client/index.js";
import { configMapsResource, LoadBalancerController, servicesResource } from "./controller.js";

export type LoadBalancerControllerDeps = SerialControllerDeps;

/** Starts the controller until `deps.signal` aborts; `workers` is forced to 1. */
export function startLoadBalancerController(
  deps: LoadBalancerControllerDeps,
): StartedController<LoadBalancerController> {
  const services = deps.informers.informer<Service & KubeObject>(servicesResource);
  const configMaps = deps.informers.informer<ConfigMap & KubeObject>(configMapsResource);
  return startSerialController(deps, {
    name: "load-balancer",
    build: (queue) =>
      new LoadBalancerController({
        services: services.lister,
        configMaps: configMaps.lister,
        client: deps.client,
        recorder: deps.recorder,
        queue,
      }),
    // The pool first: a Service's first sync must see it.
    handlers: (c) => [handle(configMaps, c.configMapHandler), handle(services, c.serviceHandler)],
  });
}
