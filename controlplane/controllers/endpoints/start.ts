/**
 * Starts the endpoints controller for one leadership term: the shared Service, Pod and Endpoints
 * informers, the handlers and the workers. The integrator calls `startEndpointsController` each
 * time it starts leading, with that term's abort signal.
 */

import type { KubeObject } from "../../../foundation/api/object.js";
import type { Endpoints, Service } from "../../../proto/gen/api.js";
import {
  type ControllerRunDeps,
  handle,
  type InformerFactory,
  type StartedController,
  startController,
} from "../../client/index.js";
import { EndpointsController, endpointsResource, servicesResource } from "./controller.js";

export interface EndpointsControllerDeps extends ControllerRunDeps {
  /** The shared informer factory (Services, Pods and Endpoints informers are taken from it). */
  informers: Pick<InformerFactory, "informer" | "pods">;
}

/**
 * Starts the controller's workers until `deps.signal` aborts. Deps: `informers`, `client` (create,
 * update, delete Endpoints), `recorder` (component "endpoint-controller"), `signal`; optionally
 * `workers` (default 5), `clock`, `metrics`, `onError`. Once the caches have synced it also removes
 * Endpoints left behind by Services deleted while no controller ran.
 */
export function startEndpointsController(
  deps: EndpointsControllerDeps,
): StartedController<EndpointsController> {
  const services = deps.informers.informer<Service & KubeObject>(servicesResource);
  const endpoints = deps.informers.informer<Endpoints & KubeObject>(endpointsResource);
  const pods = deps.informers.pods();
  const started = startController(deps, {
    name: "endpoints",
    build: (queue) =>
      new EndpointsController({
        services: services.lister,
        pods: pods.lister,
        endpoints: endpoints.lister,
        client: deps.client,
        recorder: deps.recorder,
        queue,
      }),
    // Pods first: a Service's first sync must find its pods already indexed.
    handlers: (c) => [
      handle(pods, c.podHandler),
      handle(services, c.serviceHandler),
      handle(endpoints, c.endpointsHandler),
    ],
  });
  void Promise.all([services, endpoints, pods].map((c) => c.waitForSync())).then(() => {
    if (!deps.signal.aborted) started.controller.checkLeftovers();
  });
  return started;
}
