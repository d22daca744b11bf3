/** Typed errors of the host routes: a stable code and a message naming the command or config key. */

export type RouteErrorCode =
  /** A config value is malformed; the message names the key. */
  | "Invalid"
  /** `ip`, `sysctl` or `nsenter` failed or could not be run; the message carries its stderr. */
  | "CommandFailed";

export class RouteError extends Error {
  readonly code: RouteErrorCode;

  constructor(code: RouteErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RouteError";
    this.code = code;
  }
}
