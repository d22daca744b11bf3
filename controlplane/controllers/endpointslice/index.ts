/**
 * The EndpointSlice controller: keeps discovery.k8s.io/v1 EndpointSlices for every Service with a
 * selector, beside the Endpoints the endpoints controller keeps, as current clients watch slices.
 * It never writes Pods or Services, and leaves alone slices that another manager labels as its own.
 */
export {
  EndpointSliceController,
  type EndpointSliceControllerOptions,
  endpointSlicesResource,
} from "./controller.js";
export { endpointGroups } from "./desired.js";
export {
  controllerName,
  managedByLabel,
  maxEndpointsPerSlice,
  planSlices,
  serviceNameLabel,
} from "./plan.js";
export { type EndpointSliceControllerDeps, startEndpointSliceController } from "./start.js";
