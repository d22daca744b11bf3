/**
 * Just enough of Kubernetes' protobuf encoding to read the two access reviews kubectl sends that
 * way (`kubectl auth can-i` uses the typed client, which speaks protobuf to built-in kinds): the
 * `k8s\0` envelope (runtime.Unknown) and the fields of SelfSubjectAccessReview and
 * SelfSubjectRulesReview, decoded into their JSON shape. Answers go back as JSON, which kubectl
 * accepts.
 */
import { ApiError } from "../../foundation/api/errors.js";

const magic = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Length-delimited and varint fields of one message, by field number (last value wins, like proto3). */
function fields(buf: Buffer): Map<number, Buffer | number> {
  const out = new Map<number, Buffer | number>();
  let i = 0;
  const varint = (): number => {
    let value = 0;
    let shift = 0;
    for (;;) {
      if (i >= buf.length) throw new ApiError("BadRequest", "truncated protobuf varint");
      const b = buf[i++]!;
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
      shift += 7;
    }
  };
  while (i < buf.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    switch (tag & 7) {
      case 0:
        out.set(field, varint());
        break;
      case 2: {
        const len = varint();
        if (i + len > buf.length) throw new ApiError("BadRequest", "truncated protobuf field");
        out.set(field, buf.subarray(i, i + len));
        i += len;
        break;
      }
      case 1:
        i += 8;
        break;
      case 5:
        i += 4;
        break;
      default:
        throw new ApiError("BadRequest", `unsupported protobuf wire type ${tag & 7}`);
    }
  }
  return out;
}

const str = (f: Map<number, Buffer | number>, n: number): string | undefined => {
  const v = f.get(n);
  return Buffer.isBuffer(v) ? v.toString("utf8") : undefined;
};
const msg = (f: Map<number, Buffer | number>, n: number): Map<number, Buffer | number> | undefined => {
  const v = f.get(n);
  return Buffer.isBuffer(v) ? fields(v) : undefined;
};

export function isProtobufEnvelope(body: Buffer): boolean {
  return body.subarray(0, 4).equals(magic);
}

/** The JSON shape of a SelfSubjectAccessReview or SelfSubjectRulesReview sent as protobuf. */
export function decodeReview(body: Buffer): { kind: string; spec: Record<string, unknown> } {
  const unknown = fields(body.subarray(4));
  const kind = str(msg(unknown, 1) ?? new Map(), 2) ?? "";
  const raw = unknown.get(2);
  if (!Buffer.isBuffer(raw)) throw new ApiError("BadRequest", "protobuf envelope without an object");
  const spec = msg(fields(raw), 2) ?? new Map();
  if (kind === "SelfSubjectRulesReview") return { kind, spec: { namespace: str(spec, 1) ?? "" } };
  const resource = msg(spec, 1);
  const nonResource = msg(spec, 2);
  const pick = (f: Map<number, Buffer | number>, names: Record<number, string>) =>
    Object.fromEntries(
      Object.entries(names).flatMap(([n, name]) => (str(f, Number(n)) ? [[name, str(f, Number(n))]] : [])),
    );
  return {
    kind,
    spec: {
      ...(resource
        ? {
            resourceAttributes: pick(resource, {
              1: "namespace",
              2: "verb",
              3: "group",
              4: "version",
              5: "resource",
              6: "subresource",
              7: "name",
            }),
          }
        : {}),
      ...(nonResource ? { nonResourceAttributes: pick(nonResource, { 1: "path", 2: "verb" }) } : {}),
    },
  };
}
