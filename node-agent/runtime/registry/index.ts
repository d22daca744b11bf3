/**
 * The OCI distribution client of the node agent: pulls images into the image store (as an
 * `ImportSource`) and pushes images from it. It owns nothing on disk and sends a registry's
 * credentials only to that registry's origin and its token realm. See README.md.
 */
export { Authorizer } from "./auth.js";
export type { ClientOptions } from "./client.js";
export { type Credentials, parseDockerConfig, registryHost, type SecretKind } from "./docker-config.js";
export { RegistryError, type RegistryErrorCode } from "./errors.js";
export type { ProgressListener, TransferEvent, TransferState } from "./progress.js";
export { fetchLayers, openPullSource, type PullOptions, type PullSource } from "./pull-source.js";
export { type PushedImage, type PushOptions, pushImage } from "./push.js";
export { type HostConfig, parseRegistryConfig, type RegistryConfig } from "./registry-config.js";
