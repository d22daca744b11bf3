import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { applyDefaults, validateObject } from "../kinds/index.js";
import { decodeObject } from "./codec.js";
import { invalid, isApiError } from "./errors.js";
import { resourceForKind } from "./resources.js";

/**
 * Runs every document of every manifest in a folder through the apiserver's create pipeline
 * (decode, namespace, defaults, validation) and returns one line per document: "ok" or the error.
 */
function outcomes(dir: string): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const file of readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()) {
    const docs = parseAllDocuments(readFileSync(join(dir, file), "utf8"));
    result[file] = (Array.isArray(docs) ? docs : [docs]).map((doc) => {
      if (doc.errors.length > 0) return `yaml: ${doc.errors[0]!.message}`;
      try {
        const obj = decodeObject(doc.toJS());
        const info = resourceForKind(obj.apiVersion, obj.kind)!;
        if (info.namespaced) obj.metadata.namespace ??= "default";
        applyDefaults(info, obj);
        const causes = validateObject(info, obj);
        if (causes.length > 0) throw invalid(info.kind, obj.metadata.name ?? "", causes, info.group);
        return "ok";
      } catch (err) {
        if (isApiError(err)) return `${err.reason}: ${err.message}`;
        throw err;
      }
    });
  }
  return result;
}

const unsupported = (field: string) =>
  `${field}: unknown field "${field.split(".").pop()}": not part of the schema this API server supports`;

describe("manifests through decode, defaults and validation", () => {
  it("Kubernetes documentation examples (testdata/k8s-examples, copied from ../shared) all apply", () => {
    expect(outcomes(join(import.meta.dirname, "testdata/k8s-examples"))).toEqual({
      "configmaps.yaml": ["ok", "ok"],
      "deployment-update.yaml": ["ok"],
      "exec-liveness.yaml": ["ok"],
      "init-containers.yaml": ["ok"],
      "memory-request-limit-2.yaml": ["ok"],
      "nginx-deployment.yaml": ["ok"],
      "nginx-svc.yaml": ["ok"],
      "pod-configmap-env-var-valueFrom.yaml": ["ok"],
      "pod-with-tcp-socket-healthcheck.yaml": ["ok"],
      "pod-with-toleration.yaml": ["ok"],
      "run-my-nginx.yaml": ["ok"],
      "shared-volume.yaml": ["ok"],
      "tcp-liveness-readiness.yaml": ["ok"],
    });
  });

  it("the project's own manifests/ all apply", () => {
    const all = outcomes(join(import.meta.dirname, "../../manifests"));
    for (const [file, docs] of Object.entries(all))
      expect(
        docs.every((d) => d === "ok"),
        `${file}: ${docs}`,
      ).toBe(true);
  });

  it("the shop example (examples/shop) all applies", () => {
    expect(outcomes(join(import.meta.dirname, "../../examples/shop"))).toEqual({
      "shop.yaml": Array(13).fill("ok"),
    });
  });

  it("unsupported fields and kinds are refused with a message naming them", () => {
    expect(outcomes(join(import.meta.dirname, "testdata/unsupported"))).toEqual({
      "fields.yaml": [
        `Invalid: Pod "hardened" is invalid: ${unsupported("spec.shareProcessNamespace")}`,
        `Invalid: Pod "labelled" is invalid: ${[
          "spec.containers[0].securityContext.seLinuxOptions: Forbidden: SELinux is not supported by this cluster's nodes",
          "spec.securityContext.sysctls: Forbidden: sysctls are not supported by this cluster's nodes",
        ].join(", ")}`,
        'Invalid: Service "public" is invalid: spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster (it is IPv4 only)',
        'Invalid: Ingress.networking.k8s.io "front" is invalid: spec.defaultBackend.resource: Forbidden: resource backends are not supported: use a service backend',
        `Invalid: Deployment.apps "web" is invalid: spec.template.spec.containers[0].resources.limits[memory]: Invalid value: "128MB": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
      ],
    });
  });
});
