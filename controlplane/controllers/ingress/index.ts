/**
 * The ingress controller: renders the Ingresses of IngressClass controller
 * `kctl.local/haproxy-ingress` into the haproxy config and certificates the haproxy pods mount,
 * and publishes the address of their LoadBalancer Service (ingress-haproxy/haproxy) in the
 * Ingresses' status. It writes only that ConfigMap, that Secret and Ingress statuses.
 */

export {
  certificatesSecretName,
  configMapName,
  IngressController,
  type IngressControllerOptions,
  ingressControllerName,
  ingressNamespace,
  ingressServiceName,
} from "./controller.js";
export { type IngressControllerDeps, startIngressController } from "./start.js";
