/**
 * Typed API errors with stable reasons. This is the only place that maps an error to an HTTP status
 * code (and, through `grpcCode`, to a gRPC status), so every layer throws `ApiError` and the edges
 * translate it once.
 */

export type Reason =
  | "BadRequest"
  | "Unauthorized"
  | "Forbidden"
  | "NotFound"
  | "AlreadyExists"
  | "Conflict"
  | "Gone"
  | "Invalid"
  | "RequestEntityTooLarge"
  | "MethodNotAllowed"
  | "UnsupportedMediaType"
  | "Timeout"
  | "TooManyRequests"
  | "InternalError"
  | "ServiceUnavailable";

const httpCodes: Record<Reason, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  AlreadyExists: 409,
  Conflict: 409,
  Gone: 410,
  RequestEntityTooLarge: 413,
  UnsupportedMediaType: 415,
  Invalid: 422,
  TooManyRequests: 429,
  InternalError: 500,
  ServiceUnavailable: 503,
  Timeout: 504,
};

// gRPC status codes (grpc-js `status` enum values), kept numeric so this module has no dependency.
const grpcCodes: Record<Reason, number> = {
  BadRequest: 3,
  Invalid: 3,
  Unauthorized: 16,
  Forbidden: 7,
  NotFound: 5,
  AlreadyExists: 6,
  Conflict: 10,
  Gone: 11,
  RequestEntityTooLarge: 8,
  MethodNotAllowed: 12,
  UnsupportedMediaType: 3,
  Timeout: 4,
  TooManyRequests: 8,
  InternalError: 13,
  ServiceUnavailable: 14,
};

/** One bad field: `field` is a path like `spec.template.spec.containers[0].ports[0].containerPort`. */
export interface FieldCause {
  field: string;
  message: string;
  /** Kubernetes cause type: FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, ... */
  reason: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: FieldCause[];
  retryAfterSeconds?: number;
}

/** A Kubernetes `Status` object as sent on the wire. */
export interface Status {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Success" | "Failure";
  message: string;
  reason?: Reason;
  details?: StatusDetails;
  code: number;
}

export class ApiError extends Error {
  readonly reason: Reason;
  readonly details: StatusDetails | undefined;

  constructor(reason: Reason, message: string, details?: StatusDetails) {
    super(message);
    this.name = "ApiError";
    this.reason = reason;
    this.details = details;
  }

  get code(): number {
    return httpCodes[this.reason];
  }

  get grpcCode(): number {
    return grpcCodes[this.reason];
  }

  toStatus(): Status {
    const status: Status = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) status.details = this.details;
    return status;
  }

  /** Rebuilds an error from a `Status` received over the wire (used by API clients). */
  static fromStatus(status: Partial<Status>, fallbackCode: number): ApiError {
    const reason = status.reason ?? reasonForCode(status.code ?? fallbackCode);
    return new ApiError(reason, status.message ?? `request failed with ${fallbackCode}`, status.details);
  }
}

export function reasonForCode(code: number): Reason {
  for (const [reason, c] of Object.entries(httpCodes)) if (c === code) return reason as Reason;
  return code >= 500 ? "InternalError" : "BadRequest";
}

export function isApiError(err: unknown, reason?: Reason): err is ApiError {
  return err instanceof ApiError && (reason === undefined || err.reason === reason);
}

export const notFound = (kind: string, name: string, group = ""): ApiError =>
  new ApiError("NotFound", `${kindRef(kind, group)} "${name}" not found`, { name, kind, group });

export const alreadyExists = (kind: string, name: string, group = ""): ApiError =>
  new ApiError("AlreadyExists", `${kindRef(kind, group)} "${name}" already exists`, { name, kind, group });

export const conflict = (kind: string, name: string, why: string, group = ""): ApiError =>
  new ApiError("Conflict", `Operation cannot be fulfilled on ${kindRef(kind, group)} "${name}": ${why}`, {
    name,
    kind,
    group,
  });

/** 422 listing every bad field, e.g. `Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be >= 0`. */
export function invalid(kind: string, name: string, causes: FieldCause[], group = ""): ApiError {
  const list = causes.map((c) => `${c.field}: ${c.message}`).join(", ");
  return new ApiError("Invalid", `${kindRef(kind, group)} "${name}" is invalid: ${list}`, {
    name,
    kind,
    group,
    causes,
  });
}

function kindRef(kind: string, group: string): string {
  return group ? `${kind}.${group}` : kind;
}
