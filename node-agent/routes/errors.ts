/** Typed errors of the host routes: a stable code and a message naming the command or config key. */
import { CodedError } from "../../foundation/util/coded-error.js";

export type RouteErrorCode =
  /** A config value is malformed; the message names the key. */
  | "Invalid"
  /** `ip`, `sysctl` or `nsenter` failed or could not be run; the message carries its stderr. */
  | "CommandFailed";

export class RouteError extends CodedError<RouteErrorCode> {}
