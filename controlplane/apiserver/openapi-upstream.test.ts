/**
 * Golden comparison of the served OpenAPI v3 schemas with upstream's: every schema reachable from
 * each served kind is checked against the model `@kubernetes/client-node` 1.4 generated from
 * Kubernetes' own OpenAPI (v1.34): each property we publish exists upstream with the same type (a
 * `$ref` to the same definition, the same scalar, array or map), and the required fields are
 * upstream's. Upstream has fields we do not serve; those are not compared.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as upstreamModels from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { resources } from "../../foundation/api/resources.js";
import { openApiV3, schemaName } from "./openapi.js";

// biome-ignore lint/suspicious/noExplicitAny: the test walks the generated JSON documents
type Schema = any;
interface Attribute {
  baseName: string;
  type: string;
}

const modelsDir = join(
  dirname(createRequire(import.meta.url).resolve("@kubernetes/client-node")),
  "gen",
  "models",
);

/** Definitions the generator maps to a primitive, or names apart from others of the same kind. */
const generatorNames: Record<string, string> = {
  "io.k8s.apimachinery.pkg.util.intstr.IntOrString": "IntOrString",
  "io.k8s.apimachinery.pkg.api.resource.Quantity": "string",
  "io.k8s.apimachinery.pkg.apis.meta.v1.Time": "Date",
  "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1": "any",
  "io.k8s.apimachinery.pkg.runtime.RawExtension": "any",
  "io.k8s.api.core.v1.EndpointPort": "CoreV1EndpointPort",
  "io.k8s.api.core.v1.Event": "CoreV1Event",
  "io.k8s.api.discovery.v1.EndpointPort": "DiscoveryV1EndpointPort",
  "io.k8s.api.rbac.v1.Subject": "RbacV1Subject",
};

/** `io.k8s.api.apps.v1.DeploymentSpec` → `V1DeploymentSpec`, as the generator names models. */
function modelName(definition: string): string {
  const known = generatorNames[definition];
  if (known) return known;
  const [version, kind] = definition.split(".").slice(-2) as [string, string];
  return `${version[0]!.toUpperCase()}${version.slice(1)}${kind}`;
}

function typeOf(s: Schema): string {
  if (s.$ref) return modelName(s.$ref.split("/").at(-1));
  if (s.allOf?.length === 1) return typeOf(s.allOf[0]);
  if (s.type === "integer" || s.type === "number") return "number";
  if (s.type === "array") return `Array<${typeOf(s.items)}>`;
  if (s.type === "object" && s.additionalProperties)
    return `{ [key: string]: ${typeOf(s.additionalProperties)}; }`;
  return s.type === "object" ? "any" : s.type;
}

/** Upstream's required fields: the properties its model declares without `?`. */
function upstreamRequired(model: string): string[] {
  const dts = readFileSync(join(modelsDir, `${model}.d.ts`), "utf8");
  return [...dts.matchAll(/^\s+'(\w+)': /gm)].map((m) => m[1]!).sort();
}

/** These times are metav1.Time here and MicroTime upstream: the same RFC 3339 string in JSON. */
const knownDifferences = new Set([
  "io.k8s.api.core.v1.Event.eventTime: Date, upstream V1MicroTime",
  "io.k8s.api.coordination.v1.LeaseSpec.acquireTime: Date, upstream V1MicroTime",
  "io.k8s.api.coordination.v1.LeaseSpec.renewTime: Date, upstream V1MicroTime",
]);

function differences(document: string, root: string): { compared: number; found: string[] } {
  const schemas = (openApiV3(document) as Schema).components.schemas;
  const seen = new Set<string>();
  const found: string[] = [];
  const todo = [root];
  while (todo.length > 0) {
    const name = todo.pop()!;
    if (seen.has(name) || ["any", "string", "Date", "IntOrString"].includes(modelName(name))) continue;
    seen.add(name);
    const schema = schemas[name];
    const model = (upstreamModels as unknown as Record<string, { attributeTypeMap?: Attribute[] }>)[
      modelName(name)
    ];
    if (!schema || !model?.attributeTypeMap) {
      found.push(`${name}: ${schema ? `no upstream model ${modelName(name)}` : "not in the document"}`);
      continue;
    }
    for (const [field, fieldSchema] of Object.entries<Schema>(schema.properties ?? {})) {
      for (const ref of JSON.stringify(fieldSchema).matchAll(/"\$ref":"[^"]*\/([^"/]+)"/g))
        todo.push(ref[1]!);
      const upstream = model.attributeTypeMap.find((a) => a.baseName === field);
      const ours = typeOf(fieldSchema);
      if (!upstream) found.push(`${name}.${field}: not upstream`);
      else if (ours !== upstream.type) found.push(`${name}.${field}: ${ours}, upstream ${upstream.type}`);
    }
    const required = [...(schema.required ?? [])].sort();
    const wanted = upstreamRequired(modelName(name));
    if (required.join() !== wanted.join()) found.push(`${name} required [${required}], upstream [${wanted}]`);
  }
  return { compared: seen.size, found: found.filter((d) => !knownDifferences.has(d)) };
}

describe("OpenAPI v3 schemas against upstream's", () => {
  it.each(
    resources.map((info) => ({
      kind: info.kind,
      document: info.group ? `apis/${info.group}/${info.version}` : "api/v1",
      root: schemaName(info.message.slice(info.message.lastIndexOf(".") + 1)),
    })),
  )("$kind: every schema it reaches", ({ document, root }) => {
    const { compared, found } = differences(document, root);
    expect(found).toEqual([]);
    expect(compared).toBeGreaterThan(0);
  });

  it("Deployment and Pod reach the whole pod template", () => {
    expect(differences("apis/apps/v1", "io.k8s.api.apps.v1.Deployment").compared).toBeGreaterThan(60);
    expect(differences("api/v1", "io.k8s.api.core.v1.Pod").compared).toBeGreaterThan(60);
  });
});
