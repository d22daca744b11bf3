/**
 * The `fieldValidation` query parameter of writes, as upstream serves it: `Strict` refuses a body
 * with fields the schema does not have (400, each unknown field named), `Warn` drops them and says
 * so in `Warning` headers, `Ignore` drops them silently. Without the parameter the codec refuses
 * unknown fields itself (422, as this server always has).
 */
import type { ServerResponse } from "node:http";
import { ApiError } from "../../foundation/api/errors.js";
import { findUnknownFields } from "../../foundation/api/unknown-fields.js";
import type { ResourceRoute } from "./request-path.js";

export type FieldValidation = "Ignore" | "Warn" | "Strict";
const directives: readonly string[] = ["Ignore", "Warn", "Strict"];

/** Applies the request's directive to a parsed object or patch body; returns the body to write. */
export type FieldCheck = (body: unknown) => unknown;

export function fieldCheck(query: URLSearchParams, res: ServerResponse, route: ResourceRoute): FieldCheck {
  const directive = query.get("fieldValidation");
  if (directive === null || directive === "") return (body) => body;
  if (!directives.includes(directive)) {
    throw new ApiError(
      "BadRequest",
      `fieldValidation: unsupported value ${JSON.stringify(directive)}; supported values: "Ignore", "Warn", "Strict"`,
    );
  }
  const message =
    route.subresource === "scale"
      ? "Scale"
      : route.subresource === "binding"
        ? "Binding"
        : route.subresource === "eviction"
          ? "Eviction"
          : route.info.message.slice(route.info.message.lastIndexOf(".") + 1);
  const version = route.subresource === "scale" ? "v1" : route.info.version;
  return (body) => {
    const { paths, pruned } = findUnknownFields(message, body);
    if (paths.length === 0) return body;
    const unknown = paths.map((p) => `unknown field "${p}"`);
    if (directive === "Strict") {
      throw new ApiError(
        "BadRequest",
        `${message} in version "${version}" cannot be handled as a ${message}: strict decoding error: ${unknown.join(", ")}`,
      );
    }
    if (directive === "Warn")
      res.setHeader(
        "Warning",
        unknown.map((u) => `299 - ${JSON.stringify(u)}`),
      );
    return pruned;
  };
}
