import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { findUnknownFields } from "../../foundation/api/unknown-fields.js";
import { buildOpenApiDocuments, openApiV3, openApiV3Index, schemaName } from "./openapi.js";
import { encodeOpenApiV2 } from "./openapi-v2-protobuf.js";

// biome-ignore lint/suspicious/noExplicitAny: assertions read the generated JSON documents
type Doc = any;

describe("OpenAPI documents from the proto schema", () => {
  it("names schemas as upstream and marks kinds with their group, version and kind", () => {
    const doc = openApiV3("apis/apps/v1") as Doc;
    const d = doc.components.schemas["io.k8s.api.apps.v1.Deployment"];
    expect(d["x-kubernetes-group-version-kind"]).toEqual([
      { group: "apps", kind: "Deployment", version: "v1" },
    ]);
    expect(d.properties.metadata).toEqual({
      $ref: "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
    });
    expect(doc.components.schemas["io.k8s.api.apps.v1.DeploymentSpec"].required).toEqual([
      "selector",
      "template",
    ]);
    // Shared pod types belong to core even when only apps documents use them.
    expect(schemaName("PodTemplateSpec")).toBe("io.k8s.api.core.v1.PodTemplateSpec");
    expect(schemaName("Scale")).toBe("io.k8s.api.autoscaling.v1.Scale");
  });

  it("publishes keyed lists with their merge keys and other lists as atomic", () => {
    const schemas = (openApiV3("api/v1") as Doc).components.schemas;
    expect(schemas["io.k8s.api.core.v1.PodSpec"].properties.containers).toMatchObject({
      type: "array",
      "x-kubernetes-patch-merge-key": "name",
      "x-kubernetes-patch-strategy": "merge",
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["name"],
    });
    expect(schemas["io.k8s.api.core.v1.Container"].properties.ports["x-kubernetes-list-map-keys"]).toEqual([
      "containerPort",
      "protocol",
    ]);
    expect(schemas["io.k8s.api.core.v1.PodSpec"].properties.tolerations["x-kubernetes-list-type"]).toBe(
      "atomic",
    );
    expect(schemas["io.k8s.api.core.v1.Container"].required).toEqual(["name"]);
  });

  it("has the patch operation kubectl looks for: its kind, fieldValidation, and the patch types served", () => {
    const doc = openApiV3("apis/apps/v1") as Doc;
    const patch = doc.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"].patch;
    expect(patch["x-kubernetes-group-version-kind"]).toEqual({
      group: "apps",
      kind: "Deployment",
      version: "v1",
    });
    expect(patch.parameters.map((p: { name: string }) => p.name)).toContain("fieldValidation");
    expect(Object.keys(patch.requestBody.content)).toContain("application/strategic-merge-patch+json");
    const scale = doc.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"].get;
    expect(scale["x-kubernetes-group-version-kind"].kind).toBe("Scale");
    expect(openApiV3("apis/example.com/v1")).toBeUndefined();
  });

  it("indexes each group-version's document by a hash of its content", () => {
    const docs = buildOpenApiDocuments();
    const index = openApiV3Index(docs) as Doc;
    expect(Object.keys(index.paths).sort()).toEqual([
      "api/v1",
      "apis/apps/v1",
      "apis/autoscaling/v2",
      "apis/batch/v1",
      "apis/coordination.k8s.io/v1",
      "apis/discovery.k8s.io/v1",
      "apis/networking.k8s.io/v1",
      "apis/policy/v1",
      "apis/rbac.authorization.k8s.io/v1",
      "apis/storage.k8s.io/v1",
    ]);
    const apps = index.paths["apis/apps/v1"].serverRelativeURL as string;
    expect(apps).toBe(`/openapi/v3/apis/apps/v1?hash=${docs.v3.get("apis/apps/v1")!.hash}`);
  });

  it("encodes the v2 document as gnostic's Document: definitions, refs and vendor extensions", () => {
    const docs = buildOpenApiDocuments();
    const bytes = encodeOpenApiV2(docs.v2);
    // Read back with a hand-written subset of gnostic's field numbers.
    const root = protobuf.parse(
      `syntax = "proto3";
      message Any { string yaml = 2; }
      message NamedAny { string name = 1; Any value = 2; }
      message TypeItem { repeated string value = 1; }
      message ItemsItem { repeated Schema schema = 1; }
      message Properties { repeated NamedSchema additional_properties = 1; }
      message Schema { string _ref = 1; string format = 2; repeated string required = 19; TypeItem type = 22;
        ItemsItem items = 23; Properties properties = 25; repeated NamedAny vendor_extension = 31; }
      message NamedSchema { string name = 1; Schema value = 2; }
      message Definitions { repeated NamedSchema additional_properties = 1; }
      message Info { string title = 1; string version = 2; }
      message Document { string swagger = 1; Info info = 2; Definitions definitions = 9; }`,
      { keepCase: true },
    ).root;
    const doc = root.lookupType("Document").toObject(root.lookupType("Document").decode(bytes)) as Doc;
    expect(doc.swagger).toBe("2.0");
    const deployment = doc.definitions.additional_properties.find(
      (s: { name: string }) => s.name === "io.k8s.api.apps.v1.Deployment",
    ).value;
    expect(deployment.type.value).toEqual(["object"]);
    const ext = deployment.vendor_extension.find(
      (e: { name: string }) => e.name === "x-kubernetes-group-version-kind",
    );
    expect(JSON.parse(ext.value.yaml)).toEqual([{ group: "apps", kind: "Deployment", version: "v1" }]);
    const meta = deployment.properties.additional_properties.find(
      (p: { name: string }) => p.name === "metadata",
    );
    expect(meta.value._ref).toBe("#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
  });
});

describe("unknown fields", () => {
  it("names each unknown field by its path and drops it, keeping patch directives", () => {
    const found = findUnknownFields("Deployment", {
      spec: {
        replicaz: 3,
        template: { spec: { containers: [{ name: "a", imag: "x" }], $setElementOrder: [] } },
      },
      metadata: { labels: { "x.y": "z" } },
    });
    expect(found.paths).toEqual(["spec.replicaz", "spec.template.spec.containers[0].imag"]);
    expect(found.pruned).toEqual({
      spec: { template: { spec: { containers: [{ name: "a" }], $setElementOrder: [] } } },
      metadata: { labels: { "x.y": "z" } },
    });
  });
});
