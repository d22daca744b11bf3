/**
 * Reading request bodies and writing responses. Every error response is the `Status` of an
 * `ApiError`; anything else thrown becomes InternalError here, with its stack logged, so no handler
 * formats an error by hand.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseYaml } from "yaml";
import { ApiError } from "../../foundation/api/errors.js";
import { protobufContentType } from "../../foundation/api/protobuf-body.js";

/** Kubernetes' own limit on a request body; objects are further limited to 1.5 MiB by the store. */
export const maxBodyBytes = 3 * 1024 * 1024;

/** The patch content types the apiserver applies, as OpenAPI and discovery advertise them. */
export const patchContentTypes: readonly string[] = [
  "application/apply-patch+yaml",
  "application/json-patch+json",
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
];

export type BodyKind =
  | "object"
  | "protobuf"
  | "merge-patch"
  | "strategic-merge-patch"
  | "json-patch"
  | "apply-patch";

// The bodies read, kept for the audit log's Request level until the request is collected.
const bodies = new WeakMap<IncomingMessage, Buffer>();

/** The body `readBody` read from this request, if it read one. */
export function bodyRead(req: IncomingMessage): Buffer | undefined {
  return bodies.get(req);
}

/** Reads the whole body, refusing more than `maxBodyBytes` with 413 as soon as it is exceeded. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > maxBodyBytes) throw tooLarge(declared);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBodyBytes) throw tooLarge(size);
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  bodies.set(req, body);
  return body;
}

function tooLarge(bytes: number): ApiError {
  return new ApiError(
    "RequestEntityTooLarge",
    `Request entity too large: the request body has at least ${bytes} bytes, the limit is ${maxBodyBytes} bytes`,
  );
}

/**
 * What a write's Content-Type says the body is. Objects may be JSON or YAML; patches one of
 * `patchContentTypes`; objects also Kubernetes protobuf. Anything else is refused with 415.
 */
export function bodyKind(contentType: string | undefined, isPatch: boolean): BodyKind | "yaml" {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (isPatch) {
    if (type === "application/merge-patch+json") return "merge-patch";
    if (type === "application/strategic-merge-patch+json") return "strategic-merge-patch";
    if (type === "application/json-patch+json") return "json-patch";
    if (type === "application/apply-patch+yaml") return "apply-patch";
    throw new ApiError(
      "UnsupportedMediaType",
      `the patch content type ${JSON.stringify(type)} is not supported; use one of ${patchContentTypes.join(", ")}`,
    );
  }
  if (type === "" || type === "application/json" || type === "*/*") return "object";
  if (type === "application/yaml" || type === "application/x-yaml") return "yaml";
  if (type === protobufContentType) return "protobuf";
  throw new ApiError(
    "UnsupportedMediaType",
    `the content type ${JSON.stringify(type)} is not supported; send application/json, application/yaml or ${protobufContentType}`,
  );
}

/** Parses a body as JSON (or YAML), refusing malformed or empty input with 400 and the parser's position. */
export function parseBody(body: Buffer, yaml: boolean): unknown {
  const text = body.toString("utf8");
  if (text.trim() === "") throw new ApiError("BadRequest", "the request body is empty; expected an object");
  try {
    return yaml ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new ApiError(
      "BadRequest",
      `the request body is not valid ${yaml ? "YAML" : "JSON"}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

export function sendJson(
  res: ServerResponse,
  code: number,
  body: unknown,
  contentType = "application/json",
): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

/** Turns anything thrown into an ApiError; unexpected errors are logged with their stack. */
export function toApiError(err: unknown, what: string): ApiError {
  if (err instanceof ApiError) return err;
  console.error(`apiserver: internal error in ${what}:`, err instanceof Error ? err.stack : err);
  return new ApiError(
    "InternalError",
    `Internal error occurred: ${err instanceof Error ? err.message : String(err)} (details in the apiserver log)`,
  );
}

export function sendError(res: ServerResponse, err: ApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // As upstream: a Status that says when to retry says it in the header clients read, too.
  if (err.details?.retryAfterSeconds !== undefined)
    res.setHeader("Retry-After", String(err.details.retryAfterSeconds));
  sendJson(res, err.code, err.toStatus());
}
