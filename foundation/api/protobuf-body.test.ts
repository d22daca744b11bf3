import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { ApiError } from "./errors.js";
import { decodeProtobufBody } from "./protobuf-body.js";

type Write = (w: protobuf.Writer) => void;
const msg =
  (field: number, body: Write): Write =>
  (w) => {
    w.uint32((field << 3) | 2).fork();
    body(w);
    w.ldelim();
  };
const str =
  (field: number, value: string): Write =>
  (w) =>
    w.uint32((field << 3) | 2).string(value);
const varint =
  (field: number, value: number): Write =>
  (w) =>
    w.uint32(field << 3).int64(value);
const all =
  (...parts: Write[]): Write =>
  (w) => {
    for (const p of parts) p(w);
  };

/** `k8s\0` + runtime.Unknown{typeMeta{apiVersion, kind}, raw}. */
function envelope(apiVersion: string, kind: string, raw: Write): Buffer {
  const inner = protobuf.Writer.create();
  raw(inner);
  const w = protobuf.Writer.create();
  msg(1, all(str(1, apiVersion), str(2, kind)))(w);
  w.uint32((2 << 3) | 2).bytes(inner.finish());
  return Buffer.concat([Buffer.from("k8s\0", "binary"), w.finish()]);
}

function failure(body: Buffer): string {
  try {
    decodeProtobufBody(body);
  } catch (err) {
    if (err instanceof ApiError) return `${err.code} ${err.message}`;
    throw err;
  }
  return "decoded";
}

// apps/v1 Deployment: metadata 1, spec 2; DeploymentSpec: replicas 1, selector 2, template 3,
// minReadySeconds 5; ObjectMeta: name 1, namespace 3, creationTimestamp 8, labels 11.
const deployment = (spec: Write) =>
  envelope(
    "apps/v1",
    "Deployment",
    all(
      msg(
        1,
        all(
          str(1, "web"),
          str(2, ""),
          msg(8, () => {}),
          msg(11, all(str(1, "app"), str(2, "web"))),
        ),
      ),
      msg(2, spec),
    ),
  );

describe("protobuf request bodies", () => {
  it("reads upstream's layout into the JSON shape, keeping a set replicas: 0 and dropping Go's unset zeros", () => {
    const obj = decodeProtobufBody(
      deployment(
        all(
          varint(1, 0),
          varint(5, 0),
          msg(
            3,
            msg(2, msg(2, all(str(1, "c"), str(2, "nginx"), msg(6, all(varint(3, 80), str(4, "TCP")))))),
          ),
        ),
      ),
    );
    expect(obj).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", labels: { app: "web" } },
      spec: {
        replicas: 0,
        template: {
          spec: {
            containers: [{ name: "c", image: "nginx", ports: [{ containerPort: 80, protocol: "TCP" }] }],
          },
        },
      },
    });
  });

  it("refuses a body that is not a protobuf envelope or does not decode, with 400", () => {
    expect(failure(Buffer.from('{"kind":"Pod"}'))).toMatch(/^400 .*"k8s\\0" envelope/);
    expect(failure(Buffer.concat([Buffer.from("k8s\0", "binary"), Buffer.from([0x0a, 0xff, 0xff])]))).toMatch(
      /^400 the protobuf body does not decode/,
    );
  });

  it("refuses a set field this server does not model, by number and path, but skips Go's zero values", () => {
    // DeploymentSpec field 8 (rollbackTo, which this server does not model) set, then left empty.
    expect(failure(deployment(msg(8, varint(1, 3))))).toBe(
      "400 the protobuf body does not decode: field 8 at spec is not supported by this server",
    );
    expect(failure(deployment(msg(8, all(varint(1, 0), str(2, "")))))).toBe("decoded");
  });

  it("answers 415 for kinds it has no protobuf layout for", () => {
    expect(failure(envelope("coordination.k8s.io/v1", "Lease", () => {}))).toMatch(
      /^415 protobuf bodies of Lease/,
    );
    expect(failure(envelope("example.com/v1", "Widget", () => {}))).toMatch(/^415 /);
  });
});
