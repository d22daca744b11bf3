/**
 * Encodes the Swagger 2.0 document of openapi.ts in the protobuf form kubectl asks for at
 * `/openapi/v2` (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`): gnostic's
 * `openapi.v2.Document`. Only the parts the document uses are written — swagger, info and the
 * definitions' schemas (type, format, $ref, properties, items, additionalProperties, required and
 * vendor extensions, which gnostic carries as YAML text; JSON is YAML). Field numbers are those of
 * gnostic's openapiv2/OpenAPIv2.proto.
 */
import protobuf from "protobufjs";
import type { Schema } from "./openapi.js";

type Write = (w: protobuf.Writer) => void;

function message(w: protobuf.Writer, field: number, body: Write): void {
  w.uint32((field << 3) | 2).fork();
  body(w);
  w.ldelim();
}

function string(w: protobuf.Writer, field: number, value: string): void {
  w.uint32((field << 3) | 2).string(value);
}

/** NamedX { name = 1; value = 2 } */
function named(w: protobuf.Writer, field: number, name: string, value: Write): void {
  message(w, field, (m) => {
    string(m, 1, name);
    message(m, 2, value);
  });
}

// Schema: _ref 1, format 2, description 4, required 19, additional_properties 21 (schema 1),
// type 22 (value 1), items 23 (schema 1), properties 25 (additional_properties 1 of NamedSchema),
// vendor_extension 31 (NamedAny; Any.yaml 2).
function schema(w: protobuf.Writer, s: Schema): void {
  if (typeof s.$ref === "string") string(w, 1, s.$ref);
  if (typeof s.format === "string") string(w, 2, s.format);
  if (typeof s.description === "string") string(w, 4, s.description);
  for (const r of (s.required as string[] | undefined) ?? []) string(w, 19, r);
  if (s.additionalProperties)
    message(w, 21, (m) => message(m, 1, (x) => schema(x, s.additionalProperties as Schema)));
  if (typeof s.type === "string") message(w, 22, (m) => string(m, 1, s.type as string));
  if (s.items) message(w, 23, (m) => message(m, 1, (x) => schema(x, s.items as Schema)));
  if (s.properties) {
    message(w, 25, (m) => {
      for (const [name, p] of Object.entries(s.properties as Record<string, Schema>)) {
        named(m, 1, name, (x) => schema(x, p));
      }
    });
  }
  for (const [key, value] of Object.entries(s)) {
    if (key.startsWith("x-")) named(w, 31, key, (a) => string(a, 2, JSON.stringify(value)));
  }
}

/** Document: swagger 1, info 2 (title 1, version 2), paths 8, definitions 9 (NamedSchema 1). */
export function encodeOpenApiV2(doc: Schema): Uint8Array {
  const w = protobuf.Writer.create();
  string(w, 1, doc.swagger as string);
  const info = doc.info as { title: string; version: string };
  message(w, 2, (m) => {
    string(m, 1, info.title);
    string(m, 2, info.version);
  });
  message(w, 8, () => {});
  message(w, 9, (m) => {
    for (const [name, s] of Object.entries(doc.definitions as Record<string, Schema>)) {
      named(m, 1, name, (x) => schema(x, s));
    }
  });
  return w.finish();
}
