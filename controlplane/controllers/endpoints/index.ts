/**
 * The endpoints controller: keeps one Endpoints object per Service with a selector, listing its
 * ready and not-ready pods and the ports they serve, so node agents can program Service rules.
 * It never writes Pods or Services, and leaves alone the Endpoints of Services without a selector.
 */
export {
  EndpointsController,
  type EndpointsControllerOptions,
  endpointsResource,
  servicesResource,
} from "./controller.js";
export { type EndpointsControllerDeps, startEndpointsController } from "./start.js";
export { endpointSubsets, isEndpointCandidate, resolveTargetPort } from "./subsets.js";
