/**
 * Typed errors of the OCI runtime driver. Each names the container ID and the runtime command (or
 * the config field) at fault, so the pod worker can put the message into a container's waiting or
 * terminated state as it is.
 */

export type RuntimeErrorCode =
  /** The runtime has no container of that ID. */
  | "NotFound"
  /** A value given to the driver (container ID, user, resource quantity) is malformed. */
  | "Invalid"
  /** The runtime binary ran and failed, or could not be run. */
  | "CommandFailed"
  /** The runtime command did not finish in time. */
  | "Timeout";

export class RuntimeError extends Error {
  readonly code: RuntimeErrorCode;

  constructor(code: RuntimeErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RuntimeError";
    this.code = code;
  }
}

export function isRuntimeNotFound(err: unknown): boolean {
  return err instanceof RuntimeError && err.code === "NotFound";
}
