/**
 * The node's image store: imports OCI image layouts and OCI/docker-archive tarballs, verifies every
 * blob by digest, unpacks each layer once (whiteouts converted for overlayfs) and shares it, and
 * makes each container's root filesystem as an overlay of those layers with its own upper dir
 * (nodev). Unpacking refuses any entry that would land outside its layer and skips device nodes
 * and FIFOs; layers and archives have size limits (README.md says what is refused and why).
 *
 * It owns `<stateDir>/images/` and the overlay mounts beneath it; it must never mount or delete
 * anything outside it, and it does not pull from registries yet (a registry becomes one more
 * `BlobFetcher`/`ImportSource`).
 */
export type { BlobFetcher } from "./blob-store.js";
export {
  type BusyboxImageOptions,
  buildBusyboxArchive,
  buildBusyboxImage,
  busyboxImageNames,
  LOCAL_BUSYBOX_IMAGE,
} from "./busybox-image.js";
export { ImageError, type ImageErrorCode, isImageNotFound } from "./errors.js";
export { buildHaproxyImage, LOCAL_HAPROXY_IMAGE } from "./haproxy-image.js";
export {
  checkImageGcThresholds,
  DEFAULT_IMAGE_GC_HIGH_PERCENT,
  DEFAULT_IMAGE_GC_LOW_PERCENT,
  type ImageGcThresholds,
} from "./image-gc.js";
export {
  type GcResult,
  ImageStore,
  type ImageStoreOptions,
  type ImportedImage,
  type ImportOptions,
  type ListedImage,
  type ResolvedImage,
  type Rootfs,
} from "./image-store.js";
export type { ImportSource, SourceImage } from "./import-source.js";
export type { Descriptor, RuntimeConfig } from "./oci.js";
export { type ImageReference, parseReference } from "./reference.js";
