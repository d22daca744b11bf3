/**
 * Reads Kubernetes' protobuf request bodies (`application/vnd.kubernetes.protobuf`, what kubectl's
 * typed generators send: `create deployment`, `run`, `expose`, ...) into the JSON shape the codec
 * decodes: the `k8s\0` magic, then a runtime.Unknown (typeMeta 1 {apiVersion 1, kind 2}, raw 2,
 * contentEncoding 3, contentType 4) whose `raw` is the object in upstream's generated.proto layout,
 * walked with the types of proto/api.proto and the numbers of protobuf-field-numbers.ts.
 *
 * As with JSON, fields are decoded, not judged: the codec and validation run on the result. Go
 * writes every non-pointer field, even unset, so empty strings, and zeros and falses of fields that
 * are not pointers upstream, are read as absent (JSON omits them). A field this server does not model is skipped when it holds only zero values and refused,
 * by number and path, otherwise, so nothing a client set is silently dropped.
 */
import protobuf from "protobufjs";
import { ApiError } from "./errors.js";
import { protobufFieldNumbers, protobufOptionalScalars } from "./protobuf-field-numbers.js";
import { resourceForKind } from "./resources.js";
import { type FieldDescriptor, schemaMessages as messages } from "./schema-descriptor.js";

export const protobufContentType = "application/vnd.kubernetes.protobuf";
const magic = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Field numbers of one message: direct fields, and the fields of embedded (JSON-inlined) structs. */
interface Layout {
  direct: Map<number, string>;
  embedded: Map<number, Map<number, string>>;
}

const layouts = new Map<string, Layout>();

/** Request bodies that are no resource of their own (POST pods/{name}/eviction), by apiVersion and kind. */
function layoutOf(message: string): Layout | undefined {
  const numbers = protobufFieldNumbers[message];
  if (!numbers) return undefined;
  let layout = layouts.get(message);
  if (!layout) {
    layout = { direct: new Map(), embedded: new Map() };
    for (const [field, n] of Object.entries(numbers)) {
      if (typeof n === "number") layout.direct.set(n, field);
      else {
        const inner = layout.embedded.get(n[0]) ?? new Map<number, string>();
        inner.set(n[1], field);
        layout.embedded.set(n[0], inner);
      }
    }
    layouts.set(message, layout);
  }
  return layout;
}

class DecodeError extends Error {}

/** Bodies of subresources that are no resource of their own, by `apiVersion kind`. */
const subresourceBodies: Readonly<Record<string, string>> = {
  "authentication.k8s.io/v1 TokenRequest": "TokenRequest",
  "policy/v1 Eviction": "Eviction",
};

/**
 * Decodes a protobuf body into a JSON object with apiVersion and kind set. `messageOf` names the
 * message of types served outside the resource table (autoscaling/v1's view of HPAs).
 */
export function decodeProtobufBody(
  body: Buffer,
  messageOf: (apiVersion: string, kind: string) => string | undefined = () => undefined,
): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(magic)) {
    throw new ApiError("BadRequest", 'the protobuf body does not start with the "k8s\\0" envelope');
  }
  try {
    const unknown = readFields(body.subarray(4), (n, wt, r) => {
      if (n === 1 && wt === 2)
        return ["typeMeta", readFields(r.bytes(), scalarFields({ 1: "apiVersion", 2: "kind" }))];
      if (n === 2 && wt === 2) return ["raw", r.bytes()];
      if ((n === 3 || n === 4) && wt === 2) return [n === 3 ? "contentEncoding" : "contentType", r.string()];
      return undefined;
    });
    const typeMeta = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
    if (unknown.contentEncoding)
      throw new DecodeError(`contentEncoding ${JSON.stringify(unknown.contentEncoding)} is not supported`);
    const info = resourceForKind(typeMeta.apiVersion ?? "", typeMeta.kind ?? "");
    const message =
      subresourceBodies[`${typeMeta.apiVersion} ${typeMeta.kind}`] ??
      info?.message.slice(info.message.lastIndexOf(".") + 1) ??
      messageOf(typeMeta.apiVersion ?? "", typeMeta.kind ?? "");
    if (!message || !layoutOf(message)) {
      throw new ApiError(
        "UnsupportedMediaType",
        `protobuf bodies of ${typeMeta.kind ?? "(no kind)"} ${JSON.stringify(typeMeta.apiVersion ?? "")} are not served; send application/json`,
      );
    }
    const obj = decodeMessage(message, (unknown.raw as Uint8Array | undefined) ?? new Uint8Array(), "");
    return { apiVersion: typeMeta.apiVersion, kind: typeMeta.kind, ...obj };
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(
      "BadRequest",
      `the protobuf body does not decode: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

type FieldReader = (n: number, wireType: number, r: protobuf.Reader) => [string, unknown] | undefined;

/** Reads every field of a message; fields the reader does not take must be zero values. */
function readFields(bytes: Uint8Array, read: FieldReader, path = ""): Record<string, unknown> {
  const r = protobuf.Reader.create(bytes);
  const out: Record<string, unknown> = {};
  while (r.pos < r.len) {
    const tag = r.uint32();
    const n = tag >>> 3;
    const wt = tag & 7;
    const got = read(n, wt, r);
    if (got) {
      const [name, value] = got;
      if (value !== undefined) out[name] = value;
    } else if (!skipZero(r, wt)) {
      throw new DecodeError(`field ${n} at ${path || "the top level"} is not supported by this server`);
    }
  }
  return out;
}

function scalarFields(names: Record<number, string>): FieldReader {
  return (n, wt, r) => (names[n] && wt === 2 ? [names[n]!, r.string()] : undefined);
}

/** Skips a field, returning whether it held only zero values (an empty string or message, 0). */
function skipZero(r: protobuf.Reader, wt: number): boolean {
  switch (wt) {
    case 0:
      return toNumber(r.uint64()) === 0;
    case 1:
      return r.fixed64().toString() === "0";
    case 5:
      return r.fixed32() === 0;
    case 2: {
      const bytes = r.bytes();
      if (bytes.length === 0) return true;
      try {
        const inner = protobuf.Reader.create(bytes);
        while (inner.pos < inner.len) {
          if (!skipZero(inner, inner.uint32() & 7)) return false;
        }
        return true;
      } catch {
        return false;
      }
    }
  }
  throw new DecodeError(`wire type ${wt} is not supported`);
}

function toNumber(v: unknown): number {
  return typeof v === "number" ? v : Number((v as { toString(): string }).toString());
}

function decodeMessage(message: string, bytes: Uint8Array, path: string): Record<string, unknown> {
  const layout = layoutOf(message);
  if (!layout) throw new DecodeError(`${path || message}: ${message} has no protobuf layout here`);
  const fields = messages[message]!.fields;
  const out: Record<string, unknown> = {};
  const take =
    (names: Map<number, string>): FieldReader =>
    (n, wt, r) => {
      const name = names.get(n);
      if (name !== undefined) {
        readField(fields[name]!, wt, r, out, name, join(path, name));
        if ((out[name] === 0 || out[name] === false) && !protobufOptionalScalars.has(`${message}.${name}`)) {
          delete out[name];
        }
        return ["", undefined];
      }
      const inner = layout.embedded.get(n);
      if (inner && names === layout.direct && wt === 2) {
        readFields(r.bytes(), take(inner), path);
        return ["", undefined];
      }
      return undefined;
    };
  readFields(bytes, take(layout.direct), path);
  return out;
}

function join(path: string, field: string): string {
  return path ? `${path}.${field}` : field;
}

function readField(
  field: FieldDescriptor,
  wt: number,
  r: protobuf.Reader,
  out: Record<string, unknown>,
  name: string,
  path: string,
): void {
  if (field.keyType !== undefined) {
    const entry = readFields(r.bytes(), (n, ewt, er) => {
      if (n === 1) return ["key", er.string()];
      if (n === 2) return ["value", readValue(field.type, ewt, er, `${path}[]`) ?? ""];
      return undefined;
    });
    out[name] ??= {};
    const map = out[name] as Record<string, unknown>;
    map[String(entry.key ?? "")] =
      entry.value ?? (field.type === "string" || field.type === "bytes" ? "" : {});
    return;
  }
  if (field.rule === "repeated") {
    out[name] ??= [];
    const list = out[name] as unknown[];
    const numeric = !(field.type in messages) && field.type !== "string" && field.type !== "bytes";
    if (numeric && wt === 2) {
      const packed = protobuf.Reader.create(r.bytes());
      while (packed.pos < packed.len) list.push(readValue(field.type, 0, packed, path));
    } else {
      // Unlike a singular field, an item is kept even when empty: its place in the list matters.
      list.push(
        readValue(field.type, wt, r, `${path}[${list.length}]`) ?? (field.type === "string" ? "" : {}),
      );
    }
    return;
  }
  const value = readValue(field.type, wt, r, path);
  if (value !== undefined) out[name] = value;
}

/** One value of a type of proto/api.proto; undefined for what JSON would leave out. */
function readValue(type: string, wt: number, r: protobuf.Reader, path: string): unknown {
  const expect = (want: number) => {
    if (wt !== want) throw new DecodeError(`${path}: wire type ${wt} where ${type} needs ${want}`);
  };
  switch (type) {
    case "string": {
      expect(2);
      const s = r.string();
      return s === "" ? undefined : s;
    }
    case "bytes":
      expect(2);
      return Buffer.from(r.bytes()).toString("base64");
    case "bool":
      expect(0);
      return r.bool();
    case "int32":
    case "uint32":
      expect(0);
      return r.int32();
    case "int64":
    case "uint64":
      expect(0);
      return toNumber(r.int64());
    case "double":
      expect(1);
      return r.double();
    case "IntOrString": {
      expect(2);
      const v = readFields(
        r.bytes(),
        (n, _wt, ir) => {
          if (n === 1) return ["type", toNumber(ir.int64())];
          if (n === 2) return ["intVal", ir.int32()];
          if (n === 3) return ["strVal", ir.string()];
          return undefined;
        },
        path,
      );
      return v.type === 1 ? (v.strVal ?? "") : (v.intVal ?? 0);
    }
    case "Quantity": {
      expect(2);
      const v = readFields(r.bytes(), scalarFields({ 1: "string" }), path);
      return v.string === undefined || v.string === "" ? undefined : v.string;
    }
    case "Time": {
      expect(2);
      const v = readFields(
        r.bytes(),
        (n, _wt, tr) => {
          if (n === 1) return ["seconds", toNumber(tr.int64())];
          if (n === 2) return ["nanos", tr.int32()];
          return undefined;
        },
        path,
      );
      const seconds = (v.seconds as number | undefined) ?? 0;
      // Go's zero time is written as no seconds (or the year 1); JSON has null for it.
      if (seconds <= 0) return undefined;
      const iso = new Date(seconds * 1000).toISOString().replace(/\.000Z$/, "Z");
      return iso;
    }
    case "FieldsV1":
    case "RawExtension": {
      expect(2);
      const v = readFields(r.bytes(), (n, _wt, fr) => (n === 1 ? ["raw", fr.bytes()] : undefined), path);
      return v.raw ? JSON.parse(Buffer.from(v.raw as Uint8Array).toString("utf8")) : {};
    }
    default:
      expect(2);
      return decodeMessage(type, r.bytes(), path);
  }
}
