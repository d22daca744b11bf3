/**
 * The apiserver: the Kubernetes-shaped REST front of the registry over HTTP(S). Owns paths,
 * authentication, discovery, content types, watch streaming, error `Status` bodies and request
 * metrics. It must never implement API semantics itself: every read and write goes through the
 * registry, so in-process callers and HTTP clients see the same behaviour.
 */
export type { VersionInfo } from "./discovery.js";
export {
  type AnonymousRouteHandler,
  type ApiServer,
  type ApiServerOptions,
  bootstrapGroup,
  defaultVersion,
  type ExternalSubresource,
  type ExtraRouteHandler,
  type StreamingSubresource,
  type SubresourceHandler,
  type SubresourceTarget,
  startApiServer,
  type User,
} from "./server.js";
export type { UpgradeHandler, UpgradeTarget } from "./upgrade.js";
