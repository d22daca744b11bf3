/**
 * The API schema as the generator wrote it (proto/gen/api-descriptor.json, protobufjs's JSON form of
 * proto/api.proto): each message's fields with their types. The codec, the OpenAPI documents,
 * unknown-field pruning, protobuf bodies and managedFields all read the schema through here.
 */
import descriptorJson from "../../proto/gen/api-descriptor.json" with { type: "json" };

export interface FieldDescriptor {
  type: string;
  /** "repeated" for lists. */
  rule?: string;
  /** Set for maps: the key's type (`type` is then the value's). */
  keyType?: string;
}

export interface MessageDescriptor {
  fields: Record<string, FieldDescriptor>;
}

/** Every message of the schema, by name. */
export const schemaMessages: Readonly<Record<string, MessageDescriptor>> = (
  descriptorJson as unknown as { nested: Record<string, MessageDescriptor> }
).nested;

/** The proto package the messages are in (`kctl.api`): the prefix of a resource's message name. */
export const schemaPackage: string = (descriptorJson as unknown as { package: string }).package;
