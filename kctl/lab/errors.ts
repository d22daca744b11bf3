/**
 * Typed errors of the lab. Each carries a stable `code` so the command entry can print a useful
 * message and tests can assert on the kind of failure rather than on wording.
 */
import { CodedError } from "../../foundation/util/coded-error.js";

export type LabErrorCode =
  | "InvalidArgument"
  | "AlreadyExists"
  | "NotFound"
  | "NoFreeSubnet"
  | "CommandFailed"
  | "ComponentFailed"
  | "Timeout"
  | "Busy"
  | "CleanupIncomplete";

export class LabError extends CodedError<LabErrorCode> {}
