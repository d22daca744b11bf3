/**
 * The gRPC service definition of NodeService, built from the generated descriptor and method table
 * so that the control plane (server) and node agents (client) share one codec. Messages are encoded
 * with protobufjs; decoded messages have every scalar present (see proto/gen/node.ts).
 */
import type { ServiceDefinition } from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { nodeServiceMethods } from "./gen/node.js";
import descriptor from "./gen/node-descriptor.json" with { type: "json" };

const root = protobuf.Root.fromJSON(descriptor as protobuf.INamespace);

const toObjectOptions: protobuf.IConversionOptions = {
  enums: String,
  longs: Number,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
};

function codec(name: string): {
  serialize: (value: unknown) => Buffer;
  deserialize: (bytes: Buffer) => unknown;
} {
  const type = root.lookupType(name);
  return {
    serialize: (value) => {
      const bytes = type.encode(type.fromObject(value as Record<string, unknown>)).finish();
      // protobufjs already gives a Buffer under Node; a copy would cost one more allocation per
      // tunnel frame, the hot path of port-forward.
      return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    deserialize: (bytes) => type.toObject(type.decode(bytes), toObjectOptions),
  };
}

export type NodeServiceMethod = keyof typeof nodeServiceMethods;

export const nodeServiceDefinition: ServiceDefinition = Object.fromEntries(
  Object.entries(nodeServiceMethods).map(([name, m]) => {
    const req = codec(m.requestType);
    const res = codec(m.responseType);
    return [
      name,
      {
        path: m.path,
        requestStream: m.requestStream,
        responseStream: m.responseStream,
        requestSerialize: req.serialize,
        requestDeserialize: req.deserialize,
        responseSerialize: res.serialize,
        responseDeserialize: res.deserialize,
      },
    ];
  }),
);
