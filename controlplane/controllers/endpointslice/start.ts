/**
 * Starts the EndpointSlice controller for one leadership term: the shared Service, Pod and
 * EndpointSlice informers, the handlers and the workers.
 */

import type { KubeObject } from "../../../foundation/api/object.js";
import type { EndpointSlice, Service } from "../../../proto/gen/api.js";
import {
  type ControllerRunDeps,
  handle,
  type InformerFactory,
  type StartedController,
  startController,
} from "../../client/index.js";
import { EndpointSliceController, endpointSlicesResource, servicesResource } from "./controller.js";

export interface EndpointSliceControllerDeps extends ControllerRunDeps {
  informers: Pick<InformerFactory, "informer" | "pods">;
}

/**
 * Starts the controller's workers until `deps.signal` aborts. Deps: `informers`, `client` (create,
 * update, delete EndpointSlices), `recorder` (component "endpointslice-controller"), `signal`.
 */
export function startEndpointSliceController(
  deps: EndpointSliceControllerDeps,
): StartedController<EndpointSliceController> {
  const services = deps.informers.informer<Service & KubeObject>(servicesResource);
  const slices = deps.informers.informer<EndpointSlice & KubeObject>(endpointSlicesResource);
  const pods = deps.informers.pods();
  return startController(deps, {
    name: "endpointslice",
    build: (queue) =>
      new EndpointSliceController({
        services: services.lister,
        pods: pods.lister,
        slices: slices.lister,
        client: deps.client,
        recorder: deps.recorder,
        queue,
      }),
    // Pods first: a Service's first sync must find its pods already indexed.
    handlers: (c) => [
      handle(pods, c.podHandler),
      handle(services, c.serviceHandler),
      handle(slices, c.sliceHandler),
    ],
  });
}
