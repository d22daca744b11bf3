import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CliError } from "./errors.js";
import { loadManifests, parseManifests } from "./manifests.js";

// A verbatim copy of ../shared/k8s-examples (flow style, comments, trailing commas), so CI has it.
const examples = join(import.meta.dirname, "testdata/k8s-examples");

const kinds = async (sources: string[], cwd = process.cwd(), stdin = Readable.from([])) =>
  (await loadManifests(sources, { cwd, stdin })).map(
    (m) => `${m.source}#${m.document}:${m.object.kind}/${m.object.metadata.name}`,
  );

describe("loadManifests", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "kctl-manifests-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("parses every Kubernetes documentation example into documents with the right kinds", async () => {
    expect(await kinds([examples])).toEqual([
      `${examples}/configmaps.yaml#1:ConfigMap/special-config`,
      `${examples}/configmaps.yaml#2:ConfigMap/env-config`,
      `${examples}/deployment-update.yaml#1:Deployment/nginx-deployment`,
      `${examples}/exec-liveness.yaml#1:Pod/liveness-exec`,
      `${examples}/init-containers.yaml#1:Pod/init-demo`,
      `${examples}/memory-request-limit-2.yaml#1:Pod/memory-demo-2`,
      `${examples}/nginx-deployment.yaml#1:Deployment/nginx-deployment`,
      `${examples}/nginx-svc.yaml#1:Service/my-nginx`,
      `${examples}/pod-configmap-env-var-valueFrom.yaml#1:Pod/dapi-test-pod`,
      `${examples}/pod-with-tcp-socket-healthcheck.yaml#1:Pod/pod-with-tcp-socket-healthcheck`,
      `${examples}/pod-with-toleration.yaml#1:Pod/nginx`,
      `${examples}/run-my-nginx.yaml#1:Deployment/my-nginx`,
      `${examples}/shared-volume.yaml#1:Pod/shared-volume-example`,
      `${examples}/tcp-liveness-readiness.yaml#1:Pod/goproxy`,
    ]);
  });

  it("keeps flow-style values with comments and trailing commas intact", async () => {
    const [cm] = await loadManifests([join(examples, "configmaps.yaml")], {
      cwd: "/",
      stdin: Readable.from([]),
    });
    expect(cm!.object).toEqual({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "special-config", namespace: "default" },
      data: { "special.how": "very" },
    });
    const [pod] = await loadManifests([join(examples, "pod-with-tcp-socket-healthcheck.yaml")], {
      cwd: "/",
      stdin: Readable.from([]),
    });
    expect(
      (pod!.object.spec as { containers: { livenessProbe: unknown }[] }).containers[0]!.livenessProbe,
    ).toEqual({
      tcpSocket: { port: 6379 },
      initialDelaySeconds: 30,
      timeoutSeconds: 1,
    });
  });

  it("reads directories recursively in sorted order, JSON files, stdin, and expands Lists", async () => {
    await mkdir(join(dir, "b"));
    await writeFile(
      join(dir, "b", "cm.json"),
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"j"}}',
    );
    await writeFile(join(dir, "a.yml"), "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n");
    await writeFile(join(dir, "notes.txt"), "not a manifest");
    await writeFile(
      join(dir, "c.yaml"),
      "---\n# nothing here\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: s}}\n- {apiVersion: v1, kind: Service, metadata: {name: svc}}\n",
    );
    const stdin = Readable.from([Buffer.from("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n")]);
    expect(await kinds(["x", "-"], "/", stdin).catch((e: Error) => e.message)).toBe(
      'the path "x" does not exist',
    );
    const stdin2 = Readable.from([Buffer.from("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n")]);
    expect(await kinds([".", "-"], dir, stdin2)).toEqual([
      "a.yml#1:Namespace/demo",
      "b/cm.json#1:ConfigMap/j",
      "c.yaml#2:Secret/s",
      "c.yaml#2:Service/svc",
      "<stdin>#1:Pod/p",
    ]);
  });

  it("refuses an empty directory and collects the errors of every file", async () => {
    await mkdir(join(dir, "empty"));
    await writeFile(join(dir, "bad1.yaml"), "kind: Pod\n");
    await writeFile(join(dir, "bad2.yaml"), "a: [\n");
    const err = await loadManifests(["empty", "bad1.yaml", "bad2.yaml"], {
      cwd: dir,
      stdin: Readable.from([]),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).lines).toEqual([
      "empty: the directory holds no .yaml, .yml or .json files",
      "bad1.yaml: document 1: apiVersion: Required value: every object needs apiVersion and kind",
      "bad2.yaml: document 1: line 2, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]",
    ]);
  });
});

describe("parseManifests errors: one line naming file, document and field", () => {
  const errorsOf = (text: string) => parseManifests(text, "f.yaml").errors;

  it.each([
    [
      "apiVersion: v1\nmetadata: {name: a}\n",
      "f.yaml: document 1: kind: Required value: every object needs apiVersion and kind",
    ],
    ["apiVersion: 1\nkind: Pod\n", "f.yaml: document 1: apiVersion: must be a string, got a number"],
    ["- a\n- b\n", "f.yaml: document 1: expected a mapping with apiVersion, kind and metadata, got a list"],
    [
      "apiVersion: v1\nkind: Pod\n",
      "f.yaml: document 1: metadata: Required value: a mapping with at least a name",
    ],
    [
      "apiVersion: v1\nkind: Pod\nmetadata: {generateName: x-}\n",
      "f.yaml: document 1: metadata.name: Required value: apply and delete need a name (generateName is not supported here)",
    ],
    [
      "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: [x]}\n",
      "f.yaml: document 1: metadata.namespace: must be a string, got a list",
    ],
    ["apiVersion: v1\nkind: List\nitems: {}\n", "f.yaml: document 1: items: a List needs an items array"],
    ["a: 1\na: 2\n", "f.yaml: document 1: line 2, column 1: Map keys must be unique"],
  ])("%j", (text, line) => {
    expect(errorsOf(text)).toEqual([line]);
  });

  it("names an unknown kind and lists what the API serves", () => {
    const [line] = errorsOf(
      "apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nmetadata: {name: once}\n",
    );
    expect(line).toMatch(
      /^f\.yaml: document 1: kind: no matches for kind "CertificateSigningRequest" in version "certificates\.k8s\.io\/v1" \(this API serves v1 Namespace, v1 Pod, /,
    );
  });

  it("counts documents in file order, including empty ones, and locates List items", () => {
    const text = [
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}",
      "# only a comment",
      "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: fine}}\n- {apiVersion: v1, metadata: {name: nokind}}",
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   bad: indent",
    ].join("\n---\n");
    const { manifests, errors } = parseManifests(text, "multi.yaml");
    expect(manifests.map((m) => [m.document, m.itemPath, m.object.metadata.name])).toEqual([
      [1, "", "ok"],
      [3, "items[0]", "fine"],
    ]);
    expect(errors).toEqual([
      "multi.yaml: document 3: items[1].kind: Required value: every object needs apiVersion and kind",
      "multi.yaml: document 4: line 16, column 9: Nested mappings are not allowed in compact mappings",
    ]);
  });
});
