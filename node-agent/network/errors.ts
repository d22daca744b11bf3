/**
 * Typed errors of the pod network: every failure carries a stable code and a message naming the
 * input, file or command that caused it, so the pod worker can turn it into a pod condition or event.
 */
import { CodedError } from "../../foundation/util/coded-error.js";

export type NetworkErrorCode =
  /** A caller-supplied value is malformed (pod UID, CIDR, nameserver, ...). */
  | "Invalid"
  /** The pod CIDR has no free address left. */
  | "Exhausted"
  /** A system tool (ip, unshare, umount, nsenter) failed. */
  | "CommandFailed"
  /** On-disk state is not what this module wrote (foreign file in the IPAM dir, ...). */
  | "Corrupt";

export class NetworkError extends CodedError<NetworkErrorCode> {}
