/**
 * Typed errors of the registry client. Each names the registry, repository and reference it was
 * about and, when a registry answered, its HTTP status and the distribution error code
 * (`MANIFEST_UNKNOWN`, `DENIED`, ...), so one line says what failed and where.
 */
import { CodedError } from "../../../foundation/util/coded-error.js";

export type RegistryErrorCode =
  /** The repository, tag, manifest or blob does not exist (404, `*_UNKNOWN`). */
  | "NotFound"
  /** No credentials, wrong credentials, or a token the registry refused (401). */
  | "Unauthorized"
  /** Authenticated, but not allowed (403, `DENIED`). */
  | "Denied"
  /** The registry answered 5xx, or the connection failed or was cut. */
  | "Unavailable"
  /** No answer, or no progress, within the configured time. */
  | "Timeout"
  /** A manifest or blob is larger than its limit. */
  | "TooLarge"
  /** Content does not hash to the digest that names it. */
  | "DigestMismatch"
  /** The registry sent something malformed (bad JSON, bad challenge, unexpected status). */
  | "BadResponse"
  /** A valid image this client does not handle (media type, no manifest for this platform). */
  | "Unsupported"
  /** Caller-supplied configuration is malformed (registry config, docker config). */
  | "Invalid";

/** What an error is about; every field is optional because config errors have no registry yet. */
export interface RegistryErrorContext {
  registry?: string;
  repository?: string;
  reference?: string;
  /** HTTP status of the answer that failed, when there was one. */
  status?: number;
  /** First distribution error code in the body (`MANIFEST_UNKNOWN`), when there was one. */
  registryCode?: string;
}

export class RegistryError extends CodedError<RegistryErrorCode> {
  readonly registry: string | undefined;
  readonly repository: string | undefined;
  readonly reference: string | undefined;
  readonly status: number | undefined;
  readonly registryCode: string | undefined;

  constructor(
    code: RegistryErrorCode,
    message: string,
    context: RegistryErrorContext = {},
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.registry = context.registry;
    this.repository = context.repository;
    this.reference = context.reference;
    this.status = context.status;
    this.registryCode = context.registryCode;
  }
}

/** The error code for an HTTP status a registry answered with. */
export function codeForStatus(status: number): RegistryErrorCode {
  if (status === 401) return "Unauthorized";
  if (status === 403) return "Denied";
  if (status === 404) return "NotFound";
  if (status === 408 || status === 504) return "Timeout";
  if (status === 413) return "TooLarge";
  if (status >= 500 || status === 429) return "Unavailable";
  return "BadResponse";
}
