/**
 * Starts the ingress controller for one leadership term: the shared Ingress, IngressClass,
 * Service, Secret and ConfigMap informers, one handler on each, and one worker (there is one key).
 */

import type { KubeObject } from "../../../foundation/api/object.js";
import type { ConfigMap, Ingress, IngressClass, Secret, Service } from "../../../proto/gen/api.js";
import {
  handle,
  type SerialControllerDeps,
  type StartedController,
  startSerialController,
} from "../../client/index.js";
import {
  configMapsResource,
  IngressController,
  ingressClassesResource,
  ingressesResource,
  secretsResource,
  servicesResource,
} from "./controller.js";

export type IngressControllerDeps = SerialControllerDeps;

export function startIngressController(deps: IngressControllerDeps): StartedController<IngressController> {
  const ingresses = deps.informers.informer<Ingress & KubeObject>(ingressesResource);
  const classes = deps.informers.informer<IngressClass & KubeObject>(ingressClassesResource);
  const services = deps.informers.informer<Service & KubeObject>(servicesResource);
  const secrets = deps.informers.informer<Secret & KubeObject>(secretsResource);
  const configMaps = deps.informers.informer<ConfigMap & KubeObject>(configMapsResource);
  return startSerialController(deps, {
    name: "ingress",
    build: (queue) =>
      new IngressController({
        ingresses: ingresses.lister,
        ingressClasses: classes.lister,
        services: services.lister,
        secrets: secrets.lister,
        configMaps: configMaps.lister,
        client: deps.client,
        recorder: deps.recorder,
        queue,
      }),
    handlers: (c) => [ingresses, classes, services, secrets, configMaps].map((i) => handle(i, c.handler)),
  });
}
