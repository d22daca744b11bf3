/**
 * Serves the OpenAPI documents of openapi.ts: `/openapi/v2` as JSON or, when the client asks for it
 * (kubectl does), gnostic protobuf; `/openapi/v3` (the index) and `/openapi/v3/{group-version}`,
 * which is immutable for a client that names the current hash and must be revalidated otherwise.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError } from "../../foundation/api/errors.js";
import { sendJson } from "./http-io.js";
import { type OpenApiDocuments, openApiV3Index } from "./openapi.js";
import { encodeOpenApiV2 } from "./openapi-v2-protobuf.js";
import type { Route } from "./request-path.js";

let v2Protobuf: Uint8Array | undefined;

export function serveOpenApi(
  route: Extract<Route, { kind: "openapi-v2" | "openapi-v3" | "openapi-v3-doc" }>,
  req: IncomingMessage,
  res: ServerResponse,
  docs: OpenApiDocuments,
): void {
  switch (route.kind) {
    case "openapi-v2": {
      if (!(req.headers.accept ?? "").includes("protobuf")) {
        sendText(res, docs.v2Json);
        return;
      }
      v2Protobuf ??= encodeOpenApiV2(docs.v2);
      // The media type itself has an "@", which Go's mime parser refuses in a Content-Type.
      res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": v2Protobuf.length });
      res.end(v2Protobuf);
      return;
    }
    case "openapi-v3":
      sendJson(res, 200, openApiV3Index(docs));
      return;
    case "openapi-v3-doc": {
      const doc = docs.v3.get(route.path);
      if (!doc) {
        throw new ApiError(
          "NotFound",
          `the server could not find the requested resource (no OpenAPI v3 document for ${JSON.stringify(route.path)})`,
        );
      }
      const hash = new URL(req.url ?? "/", "http://apiserver").searchParams.get("hash");
      res.setHeader(
        "Cache-Control",
        hash === doc.hash ? "public, immutable, max-age=31536000" : "no-cache, private",
      );
      res.setHeader("Etag", `"${doc.hash}"`);
      sendText(res, doc.json);
      return;
    }
  }
}

function sendText(res: ServerResponse, json: string): void {
  res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(json) });
  res.end(json);
}
