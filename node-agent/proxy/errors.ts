/**
 * Typed errors of the service proxy and host routes: a stable code and a message naming the
 * object and field, the config key, or the command (with its stderr) that failed.
 */
import { CodedError } from "../../foundation/util/coded-error.js";

export type ProxyErrorCode =
  /** A config value or an input object is malformed; the message names the field path. */
  | "Invalid"
  /** `nft`, `conntrack`, `ip`, `sysctl` or `nsenter` failed or could not be run. */
  | "CommandFailed";

export class ProxyError extends CodedError<ProxyErrorCode> {}
