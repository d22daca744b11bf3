/** Every active namespace gets its `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap. */
export { ServiceAccountController, type ServiceAccountControllerOptions } from "./controller.js";
export { type ServiceAccountControllerDeps, startServiceAccountController } from "./start.js";
