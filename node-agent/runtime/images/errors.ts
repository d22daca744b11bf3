/**
 * Typed errors of the image store. Each carries a stable code and names the image reference, blob
 * or file at fault; the pod worker turns `NotFound` into the pod reasons `ErrImageNeverPull` (policy
 * Never) or `ErrImagePull`/`ImagePullBackOff` (until pulling exists), and any other code into
 * `ErrImagePull` with the message as the event text.
 */
import { CodedError } from "../../../foundation/util/coded-error.js";

export type ImageErrorCode =
  /** No image under that reference on this node. */
  | "NotFound"
  /** A caller-supplied value is malformed (container ID). */
  | "Invalid"
  /** The reference does not parse (`Busybox`, `a:b:c`, ...). */
  | "InvalidReference"
  /** A blob's content does not hash to the digest that names it. */
  | "DigestMismatch"
  /** Manifest, index, config or archive is malformed or inconsistent. */
  | "InvalidImage"
  /** A layer or archive is larger, uncompressed, than the store's limit for it. */
  | "TooLarge"
  /** Valid, but a feature this store does not handle (a foreign platform, a layer media type it cannot unpack, ...). */
  | "Unsupported"
  /** Unpacking a layer or mounting a rootfs failed in the kernel or a system tool. */
  | "SystemError";

export class ImageError extends CodedError<ImageErrorCode> {}

/** True for the error the pod worker reports as a missing image. */
export function isImageNotFound(err: unknown): boolean {
  return err instanceof ImageError && err.code === "NotFound";
}
