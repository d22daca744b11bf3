/**
 * The OpenAPI documents kubectl reads (`/openapi/v2`, and `/openapi/v3` with one document per
 * group-version), generated at start from the descriptor of proto/api.proto, the same schema the
 * codec decodes with, so what is published never drifts from what the server accepts. Schemas are
 * named as upstream names them (`io.k8s.api.apps.v1.Deployment`), carry
 * `x-kubernetes-group-version-kind`, the required fields and the list rules of `api/schema-rules.ts`
 * (`x-kubernetes-patch-merge-key`, `x-kubernetes-list-type`), which kubectl uses to build strategic
 * merge patches, explain fields and decide whether the server validates fields itself.
 */
import { createHash } from "node:crypto";
import { type ResourceInfo, resources } from "../../foundation/api/resources.js";
import { type FieldDescriptor, schemaMessages as messages } from "../../foundation/api/schema-descriptor.js";
import { listRules, requiredFields } from "../../foundation/api/schema-rules.js";
import { patchContentTypes } from "./http-io.js";

export type Schema = Record<string, unknown>;

const metaTypes = new Set([
  "ObjectMeta",
  "OwnerReference",
  "ListMeta",
  "LabelSelector",
  "LabelSelectorRequirement",
  "Preconditions",
  "DeleteOptions",
  "StatusCause",
  "StatusDetails",
  "Status",
  "Time",
  "ManagedFieldsEntry",
  "FieldsV1",
]);
const fixedNames: Record<string, string> = {
  IntOrString: "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
  RawExtension: "io.k8s.apimachinery.pkg.runtime.RawExtension",
  Quantity: "io.k8s.apimachinery.pkg.api.resource.Quantity",
  Scale: "io.k8s.api.autoscaling.v1.Scale",
  ScaleSpec: "io.k8s.api.autoscaling.v1.ScaleSpec",
  ScaleStatus: "io.k8s.api.autoscaling.v1.ScaleStatus",
  // No core kind served here embeds it, but upstream defines it in core.
  PodTemplateSpec: "io.k8s.api.core.v1.PodTemplateSpec",
  // The proto names these apart from core's Endpoints types; upstream's discovery package does not.
  DiscoveryEndpoint: "io.k8s.api.discovery.v1.Endpoint",
  DiscoveryEndpointConditions: "io.k8s.api.discovery.v1.EndpointConditions",
  DiscoveryEndpointPort: "io.k8s.api.discovery.v1.EndpointPort",
  // Upstream's PodDisruptionBudgetStatus.conditions are the generic metav1.Condition.
  PodDisruptionBudgetCondition: "io.k8s.apimachinery.pkg.apis.meta.v1.Condition",
};
/** Marker messages stand for JSON scalars (see proto/api.proto). */
const scalarMarkers: Record<string, Schema> = {
  IntOrString: { type: "string", format: "int-or-string", "x-kubernetes-int-or-string": true },
  Quantity: { type: "string" },
  Time: { type: "string", format: "date-time" },
  FieldsV1: { type: "object" },
  RawExtension: { type: "object" },
};

const scalars: Record<string, Schema> = {
  string: { type: "string" },
  bytes: { type: "string", format: "byte" },
  bool: { type: "boolean" },
  int32: { type: "integer", format: "int32" },
  sint32: { type: "integer", format: "int32" },
  uint32: { type: "integer", format: "int32" },
  int64: { type: "integer", format: "int64" },
  sint64: { type: "integer", format: "int64" },
  uint64: { type: "integer", format: "int64" },
  double: { type: "number", format: "double" },
  float: { type: "number", format: "double" },
};

function packageOf(group: string, version: string): string {
  return `io.k8s.api.${group === "" ? "core" : group.split(".")[0]}.${version}`;
}

/**
 * The upstream name of each message: a kind's is in its group's package, a type used by kinds of
 * several groups in the package of the first kind (in discovery order, core first) that uses it.
 */
const schemaNames: Map<string, string> = (() => {
  const names = new Map<string, string>();
  for (const m of metaTypes) names.set(m, `io.k8s.apimachinery.pkg.apis.meta.v1.${m}`);
  for (const [m, n] of Object.entries(fixedNames)) names.set(m, n);
  for (const info of resources) {
    const pkg = packageOf(info.group, info.version);
    const visit = (name: string): void => {
      if (names.has(name) || !messages[name]) return;
      names.set(name, `${pkg}.${name}`);
      for (const f of Object.values(messages[name].fields)) visit(f.type);
    };
    visit(messageOf(info));
  }
  return names;
})();

function messageOf(info: ResourceInfo): string {
  return info.message.slice(info.message.lastIndexOf(".") + 1);
}

export function schemaName(message: string): string {
  const name = schemaNames.get(message);
  if (!name) throw new Error(`openapi: message ${message} has no schema name`);
  return name;
}

function listName(info: ResourceInfo): string {
  return `${packageOf(info.group, info.version)}.${info.kind}List`;
}

/** A schema lists the kinds it is (an array); an operation names the one it acts on (an object). */
function gvk(group: string, version: string, kind: string): Schema {
  return { "x-kubernetes-group-version-kind": [{ group, kind, version }] };
}

function operationGvk(group: string, version: string, kind: string): Schema {
  return { "x-kubernetes-group-version-kind": { group, kind, version } };
}

/** Builds schemas with `$ref`s under `refPrefix` (`#/definitions/` in v2, `#/components/schemas/` in v3). */
class SchemaBuilder {
  readonly schemas: Record<string, Schema> = {};
  constructor(private readonly refPrefix: string) {}

  ref(message: string): Schema {
    this.add(message);
    return { $ref: `${this.refPrefix}${schemaName(message)}` };
  }

  private add(message: string): void {
    const name = schemaName(message);
    if (this.schemas[name]) return;
    const marker = scalarMarkers[message];
    if (marker) {
      this.schemas[name] = { ...marker };
      return;
    }
    const schema: Schema = { type: "object" };
    this.schemas[name] = schema; // before the fields, so recursive types end
    const properties: Record<string, Schema> = {};
    for (const [field, desc] of Object.entries(messages[message]!.fields)) {
      properties[field] = this.field(message, field, desc);
    }
    schema.properties = properties;
    const required = requiredFields[message];
    if (required) schema.required = [...required];
    const kind = resources.find((r) => messageOf(r) === message);
    if (kind) Object.assign(schema, gvk(kind.group, kind.version, kind.kind));
    else if (message === "Scale") Object.assign(schema, gvk("autoscaling", "v1", "Scale"));
    else if (message === "Status" || message === "DeleteOptions") {
      Object.assign(schema, gvk("", "v1", message));
    }
  }

  private field(message: string, field: string, desc: FieldDescriptor): Schema {
    const item = scalars[desc.type] ? { ...scalars[desc.type] } : this.ref(desc.type);
    if (desc.keyType !== undefined) return { type: "object", additionalProperties: item };
    if (desc.rule !== "repeated") return item;
    const list: Schema = { type: "array", items: item };
    const rule = listRules[`${message}.${field}`];
    if (rule?.type === "map") {
      Object.assign(list, {
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": [...rule.keys!],
        "x-kubernetes-patch-merge-key": rule.keys![0],
        "x-kubernetes-patch-strategy": "merge",
      });
    } else if (rule?.type === "set") {
      Object.assign(list, { "x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge" });
    } else {
      list["x-kubernetes-list-type"] = "atomic";
    }
    return list;
  }

  list(info: ResourceInfo): Schema {
    const name = listName(info);
    this.schemas[name] ??= {
      type: "object",
      required: ["items"],
      properties: {
        apiVersion: { type: "string" },
        kind: { type: "string" },
        metadata: this.ref("ListMeta"),
        items: { type: "array", items: this.ref(messageOf(info)) },
      },
      ...gvk(info.group, info.version, `${info.kind}List`),
    };
    return { $ref: `${this.refPrefix}${name}` };
  }
}

const info = { title: "Kubernetes", version: "v1.32.0-kctl" };

/** The Swagger 2.0 document: every kind's definitions (operations are published in v3 only). */
export function openApiV2(): Schema {
  const b = new SchemaBuilder("#/definitions/");
  for (const r of resources) {
    b.ref(messageOf(r));
    b.list(r);
  }
  b.ref("Scale");
  b.ref("DeleteOptions");
  b.ref("Status");
  return { swagger: "2.0", info, paths: {}, definitions: b.schemas };
}

/** `api/v1`, `apis/apps/v1`, ...: the keys of the v3 index. */
export function groupVersionPaths(): string[] {
  return [...new Set(resources.map((r) => (r.group ? `apis/${r.group}/${r.version}` : `api/${r.version}`)))];
}

const queryParam = (name: string, type: Schema, description: string): Schema => ({
  name,
  in: "query",
  description,
  schema: type,
});
const str = { type: "string" };
const dryRunParam = queryParam(
  "dryRun",
  str,
  "When present, the write is not persisted; the only valid value is All.",
);
const fieldManagerParam = queryParam("fieldManager", str, "The name of the actor making the change.");
const fieldValidationParam = queryParam(
  "fieldValidation",
  str,
  "What to do with unknown fields in the body: Ignore drops them, Warn drops them with a Warning header, Strict refuses the request.",
);
const forceParam = queryParam(
  "force",
  { type: "boolean" },
  "Server-side apply: take over fields other managers own.",
);
const watchParams = ["labelSelector", "fieldSelector", "resourceVersion", "timeoutSeconds", "watch"].map(
  (n) =>
    queryParam(
      n,
      n === "watch" ? { type: "boolean" } : n === "timeoutSeconds" ? { type: "integer" } : str,
      n,
    ),
);
const pathParam = (name: string): Schema => ({ name, in: "path", required: true, schema: str });

function jsonBody(
  schema: Schema,
  types: readonly string[] = ["application/json", "application/yaml"],
): Schema {
  return { required: true, content: Object.fromEntries(types.map((t) => [t, { schema }])) };
}

function reply(schema: Schema, code = "200"): Schema {
  return { [code]: { description: "OK", content: { "application/json": { schema } } } };
}

function operation(id: string, action: string, kind: Schema, extra: Schema): Schema {
  return { operationId: id, "x-kubernetes-action": action, ...kind, ...extra };
}

/** The OpenAPI v3 document of one group-version (`apis/apps/v1`); undefined when it is not served. */
export function openApiV3(gvPath: string): Schema | undefined {
  const served = resources.filter(
    (r) => (r.group ? `apis/${r.group}/${r.version}` : `api/${r.version}`) === gvPath,
  );
  if (served.length === 0) return undefined;
  const b = new SchemaBuilder("#/components/schemas/");
  const paths: Record<string, Schema> = {};
  const status = b.ref("Status");
  const deleteOptions = b.ref("DeleteOptions");
  for (const r of served) {
    const kindExt = operationGvk(r.group, r.version, r.kind);
    const obj = b.ref(messageOf(r));
    const list = b.list(r);
    const id = `${r.kind}${r.group ? `.${r.group}` : ""}`;
    const base = `/${gvPath}${r.namespaced ? "/namespaces/{namespace}" : ""}/${r.plural}`;
    const scope = r.namespaced ? [pathParam("namespace")] : [];
    paths[base] = {
      parameters: scope,
      get: operation(`list${id}`, "list", kindExt, { parameters: watchParams, responses: reply(list) }),
      post: operation(`create${id}`, "post", kindExt, {
        parameters: [dryRunParam, fieldManagerParam, fieldValidationParam],
        requestBody: jsonBody(obj),
        responses: { ...reply(obj), ...reply(obj, "201") },
      }),
    };
    if (r.namespaced) {
      paths[`/${gvPath}/${r.plural}`] = {
        get: operation(`list${id}ForAllNamespaces`, "list", kindExt, {
          parameters: watchParams,
          responses: reply(list),
        }),
      };
    }
    const item = (target: Schema, ext: Schema, suffix: string): Schema => ({
      parameters: [...scope, pathParam("name")],
      get: operation(`read${id}${suffix}`, "get", ext, { responses: reply(target) }),
      put: operation(`replace${id}${suffix}`, "put", ext, {
        parameters: [dryRunParam, fieldManagerParam, fieldValidationParam],
        requestBody: jsonBody(target),
        responses: reply(target),
      }),
      patch: operation(`patch${id}${suffix}`, "patch", ext, {
        parameters: [dryRunParam, fieldManagerParam, fieldValidationParam, forceParam],
        // Server-side apply is served on objects only, not on their subresources.
        requestBody: jsonBody(
          { type: "object" },
          suffix ? patchContentTypes.filter((t) => t !== "application/apply-patch+yaml") : patchContentTypes,
        ),
        responses: reply(target),
      }),
    });
    paths[`${base}/{name}`] = {
      ...item(obj, kindExt, ""),
      delete: operation(`delete${id}`, "delete", kindExt, {
        parameters: [dryRunParam, queryParam("propagationPolicy", str, "Orphan, Background or Foreground.")],
        requestBody: { content: { "application/json": { schema: deleteOptions } } },
        responses: { ...reply(obj), ...reply(status, "202") },
      }),
    };
    if (r.subresources.includes("status")) paths[`${base}/{name}/status`] = item(obj, kindExt, "Status");
    if (r.subresources.includes("scale")) {
      paths[`${base}/{name}/scale`] = item(
        b.ref("Scale"),
        operationGvk("autoscaling", "v1", "Scale"),
        "Scale",
      );
    }
  }
  return {
    openapi: "3.0.0",
    info,
    paths,
    components: { schemas: b.schemas },
  };
}

export interface OpenApiDocuments {
  v2: Schema;
  v2Json: string;
  /** Per group-version path: the JSON text and its hash, as served at `/openapi/v3/{path}?hash=`. */
  v3: Map<string, { json: string; hash: string }>;
}

/** Builds every document once (they change only with the schema, i.e. never while serving). */
export function buildOpenApiDocuments(): OpenApiDocuments {
  const v3 = new Map<string, { json: string; hash: string }>();
  for (const path of groupVersionPaths()) {
    const json = JSON.stringify(openApiV3(path));
    v3.set(path, { json, hash: createHash("sha512").update(json).digest("hex").slice(0, 128).toUpperCase() });
  }
  const v2 = openApiV2();
  return { v2, v2Json: JSON.stringify(v2), v3 };
}

/** The `/openapi/v3` index: each group-version's document and the URL that pins its hash. */
export function openApiV3Index(docs: OpenApiDocuments): Schema {
  return {
    paths: Object.fromEntries(
      [...docs.v3].map(([path, { hash }]) => [
        path,
        { serverRelativeURL: `/openapi/v3/${path}?hash=${hash}` },
      ]),
    ),
  };
}
