/**
 * Strict, schema-driven decoding of JSON values (parsed JSON or YAML) into the typed objects of
 * proto/gen/api.ts, using the descriptor that proto/generate.mjs writes from proto/api.proto.
 *
 * Decoding checks shape only: unknown fields, JSON types, integer ranges, and the syntax of the
 * special scalars (IntOrString, Quantity, RFC 3339 Time, base64 bytes). It never fills defaults and
 * never judges values; that is `applyDefaults` and `validateObject`. Every problem found is reported,
 * each as a FieldCause with its full path, in one `invalid(...)` error.
 */

import { describeValue } from "./describe-value.js";
import { ApiError, type FieldCause, invalid } from "./errors.js";
import { type KubeObject, setEntry } from "./object.js";
import { quantityError } from "./quantity.js";
import { apiVersionOf, type ResourceInfo, resourceForKind } from "./resources.js";
import {
  type FieldDescriptor,
  type MessageDescriptor,
  schemaMessages,
  schemaPackage,
} from "./schema-descriptor.js";

const int32Range = [-(2 ** 31), 2 ** 31 - 1] as const;
const uint32Range = [0, 2 ** 32 - 1] as const;
const int64Range = [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER] as const;
const integerRanges: Record<string, readonly [number, number]> = {
  int32: int32Range,
  sint32: int32Range,
  sfixed32: int32Range,
  uint32: uint32Range,
  fixed32: uint32Range,
  int64: int64Range,
  sint64: int64Range,
  sfixed64: int64Range,
  uint64: [0, Number.MAX_SAFE_INTEGER],
  fixed64: [0, Number.MAX_SAFE_INTEGER],
};

const rfc3339Re = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const base64Re = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function join(path: string, field: string): string {
  return path ? `${path}.${field}` : field;
}

/** True for an RFC 3339 timestamp whose date and time fields are in range. */
export function isRfc3339(text: string): boolean {
  const m = rfc3339Re.exec(text);
  if (!m) return false;
  // Every object carries several timestamps, so no Date is built to check them.
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  return (
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month) &&
    Number(m[4]) < 24 &&
    Number(m[5]) < 60 &&
    Number(m[6]) < 60
  );
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

class Decoder {
  readonly causes: FieldCause[] = [];

  private typeInvalid(path: string, value: unknown, expected: string): undefined {
    this.causes.push({
      field: path,
      reason: "FieldValueTypeInvalid",
      message: `Invalid value: ${describeValue(value)}: expected ${expected}, got ${jsonType(value)}`,
    });
    return undefined;
  }

  private valueInvalid(path: string, value: unknown, detail: string): undefined {
    this.causes.push({
      field: path,
      reason: "FieldValueInvalid",
      message: `Invalid value: ${describeValue(value)}: ${detail}`,
    });
    return undefined;
  }

  message(name: string, raw: unknown, path: string): Record<string, unknown> | undefined {
    const desc = schemaMessages[name];
    if (!desc) throw new Error(`codec: message ${name} is not in the descriptor`);
    if (!isPlainObject(raw)) return this.typeInvalid(path, raw, "an object");
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(raw)) {
      const fieldPath = join(path, key);
      const field = Object.hasOwn(desc.fields, key) ? desc.fields[key] : undefined;
      if (!field) {
        this.unknownField(desc, key, fieldPath);
        continue;
      }
      // null means "not set", as in Kubernetes' JSON decoding.
      if (value === null) continue;
      const decoded = this.field(field, value, fieldPath);
      if (decoded !== undefined) out[key] = decoded;
    }
    return out;
  }

  private unknownField(desc: MessageDescriptor, key: string, path: string): void {
    const near = Object.keys(desc.fields).find((f) => f.toLowerCase() === key.toLowerCase());
    this.causes.push({
      field: path,
      reason: "FieldValueNotSupported",
      message: near
        ? `unknown field "${key}" (did you mean "${near}"?)`
        : `unknown field "${key}": not part of the schema this API server supports`,
    });
  }

  private field(field: FieldDescriptor, value: unknown, path: string): unknown {
    if (field.keyType !== undefined) {
      if (!isPlainObject(value)) return this.typeInvalid(path, value, "an object (map)");
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const decoded =
          v === null
            ? this.typeInvalid(`${path}[${k}]`, v, this.expectedOf(field.type))
            : this.single(field.type, v, `${path}[${k}]`);
        if (decoded !== undefined) setEntry(out, k, decoded);
      }
      return out;
    }
    if (field.rule === "repeated") {
      if (!Array.isArray(value)) return this.typeInvalid(path, value, "an array");
      const out: unknown[] = [];
      value.forEach((v, i) => {
        const decoded =
          v === null
            ? this.typeInvalid(`${path}[${i}]`, v, this.expectedOf(field.type))
            : this.single(field.type, v, `${path}[${i}]`);
        if (decoded !== undefined) out.push(decoded);
      });
      return out;
    }
    return this.single(field.type, value, path);
  }

  private expectedOf(type: string): string {
    if (type in integerRanges) return `an integer (${type})`;
    switch (type) {
      case "string":
      case "bytes":
      case "Quantity":
      case "Time":
        return "a string";
      case "bool":
        return "a boolean";
      case "double":
      case "float":
        return "a number";
      case "IntOrString":
        return "an integer or a string";
      default:
        return "an object";
    }
  }

  private single(type: string, value: unknown, path: string): unknown {
    const range = integerRanges[type];
    if (range) {
      if (typeof value !== "number") return this.typeInvalid(path, value, `an integer (${type})`);
      if (!Number.isInteger(value)) return this.typeInvalid(path, value, `an integer (${type})`);
      if (value < range[0] || value > range[1]) {
        return this.valueInvalid(path, value, `out of range for ${type} (${range[0]} to ${range[1]})`);
      }
      return value;
    }
    switch (type) {
      case "string":
        return typeof value === "string" ? value : this.typeInvalid(path, value, "a string");
      case "bool":
        return typeof value === "boolean" ? value : this.typeInvalid(path, value, "a boolean");
      case "double":
      case "float":
        return typeof value === "number" && Number.isFinite(value)
          ? value
          : this.typeInvalid(path, value, "a number");
      case "bytes":
        if (typeof value !== "string") return this.typeInvalid(path, value, "a base64 string");
        return base64Re.test(value)
          ? value
          : this.valueInvalid(path, value, "must be base64-encoded (standard alphabet, with padding)");
      case "IntOrString":
        if (typeof value === "string") return value;
        if (typeof value !== "number" || !Number.isInteger(value)) {
          return this.typeInvalid(path, value, "an integer or a string");
        }
        if (value < int32Range[0] || value > int32Range[1]) {
          return this.valueInvalid(path, value, "out of range for int32");
        }
        return value;
      case "Quantity": {
        if (typeof value !== "string" && !(typeof value === "number" && Number.isFinite(value))) {
          return this.typeInvalid(path, value, 'a quantity string such as "500m" or "128Mi"');
        }
        const text = String(value);
        const err = quantityError(text);
        return err ? this.valueInvalid(path, value, err) : text;
      }
      case "FieldsV1":
      case "RawExtension":
        return isPlainObject(value) ? structuredClone(value) : this.typeInvalid(path, value, "an object");
      case "Time":
        if (typeof value !== "string") return this.typeInvalid(path, value, "an RFC 3339 timestamp string");
        return isRfc3339(value)
          ? value
          : this.valueInvalid(path, value, 'must be an RFC 3339 timestamp such as "2006-01-02T15:04:05Z"');
      default:
        return this.message(type, value, path);
    }
  }
}

/**
 * Decodes `raw` as the message `name` of proto/api.proto (e.g. "DeleteOptions", "Binding"). Returns a
 * fresh copy with nulls dropped and numeric quantities turned into strings; the input is not changed.
 * Throws `invalid(name, "", causes)` listing every problem.
 */
export function decodeMessage<T>(name: string, raw: unknown): T {
  const decoder = new Decoder();
  const out = decoder.message(name, raw, "");
  if (decoder.causes.length > 0) throw invalid(name, "", decoder.causes);
  return out as T;
}

/**
 * Decodes a whole object of a served kind. The resource comes from the object's `apiVersion` and
 * `kind`; when `expected` is given (the resource of the URL), missing apiVersion/kind default to it
 * and a different one is refused.
 *
 * Returns a fresh typed object (always with a `metadata` object; `resourceForKind(obj.apiVersion,
 * obj.kind)` gives its resource); the input is not changed. Throws:
 * - ApiError("BadRequest") when `raw` is not a JSON object, lacks apiVersion/kind, names a kind this
 *   server does not serve, or does not match `expected`;
 * - `invalid(kind, name, causes)` (422) for unknown fields and badly typed values, each cause with its
 *   full path such as `spec.template.spec.containers[0].ports[0].containerPort`.
 */
export function decodeObject(raw: unknown, expected?: ResourceInfo): KubeObject {
  if (!isPlainObject(raw)) {
    throw new ApiError("BadRequest", `an object must be a JSON/YAML mapping, got ${jsonType(raw)}`);
  }
  const apiVersion = raw.apiVersion ?? (expected ? apiVersionOf(expected) : undefined);
  const kind = raw.kind ?? expected?.kind;
  if (typeof apiVersion !== "string" || apiVersion === "") {
    throw new ApiError("BadRequest", "Object 'apiVersion' is missing or not a string");
  }
  if (typeof kind !== "string" || kind === "") {
    throw new ApiError("BadRequest", "Object 'Kind' is missing or not a string");
  }
  const info = resourceForKind(apiVersion, kind);
  if (!info) {
    throw new ApiError("BadRequest", `no matches for kind "${kind}" in version "${apiVersion}"`, { kind });
  }
  if (expected && info !== expected) {
    throw new ApiError(
      "BadRequest",
      `the object's apiVersion/kind ${apiVersion}/${kind} does not match the expected ${apiVersionOf(expected)}/${expected.kind}`,
      { kind },
    );
  }
  const messageName = info.message.slice(schemaPackage.length + 1);
  const decoder = new Decoder();
  const out = decoder.message(messageName, { ...raw, apiVersion, kind }, "")!;
  if (decoder.causes.length > 0) {
    const name =
      isPlainObject(raw.metadata) && typeof raw.metadata.name === "string" ? raw.metadata.name : "";
    throw invalid(info.kind, name, decoder.causes, info.group);
  }
  out.metadata ??= {};
  return out as KubeObject;
}
