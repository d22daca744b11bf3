import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveResourceName } from "../foundation/api/resources.js";
import { runKctl } from "./testing/run-kctl.js";
import { startTestCluster, type TestCluster } from "./testing/test-cluster.js";

const deployments = resolveResourceName("deployments")!;
const configmaps = resolveResourceName("configmaps")!;
const namespaces = resolveResourceName("namespaces")!;

const app = (
  replicas: number,
  extraLabel = "  tier: front\n",
) => `# a namespace, its config, a web deployment and its service
apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: cfg, namespace: demo}, data: {greeting: hello,},}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
  labels:
    app: web
${extraLabel.replace(/^/gm, "  ").trimEnd()}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
`;

const deployment = (name: string, specPatch: (spec: string) => string = (s) => s) =>
  `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
${specPatch(`spec:
  replicas: 2
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]`)}
`;

describe("kctl apply against a real apiserver and etcd", () => {
  let cluster: TestCluster;
  let dir: string;
  const kctl = (...argv: string[]) => runKctl(argv, { env: { KCTL_CONFIG: cluster.configPath }, cwd: dir });

  beforeAll(async () => {
    cluster = await startTestCluster();
    dir = await mkdtemp(join(tmpdir(), "kctl-apply-"));
  });
  afterAll(async () => {
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("creates, then reports unchanged, then configured with generation bumped", async () => {
    await writeFile(join(dir, "app.yaml"), app(2));
    expect(await kctl("apply", "-f", "app.yaml")).toEqual({
      code: 0,
      stdout:
        "namespace/demo created\nconfigmap/cfg created\ndeployment.apps/web created\nservice/web created\n",
      stderr: "",
    });

    const got = await kctl("get", "deploy", "web", "-n", "demo", "-o", "yaml");
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(/^apiVersion: apps\/v1\nkind: Deployment\n/);
    expect(got.stdout).toMatch(/\n {2}uid: [0-9a-f-]{36}\n/);
    expect(got.stdout).toMatch(/\n {2}resourceVersion: "\d+"\n/);
    expect(got.stdout).toMatch(/\n {2}generation: 1\n/);
    expect(got.stdout).toMatch(/\n {2}creationTimestamp: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n/);

    expect(await kctl("apply", "-f", "app.yaml")).toEqual({
      code: 0,
      stdout:
        "namespace/demo unchanged\nconfigmap/cfg unchanged\ndeployment.apps/web unchanged\nservice/web unchanged\n",
      stderr: "",
    });

    // A controller writes status; an edit of the manifest must keep it and the server's defaults.
    await cluster.registry.patchStatus(deployments, "demo", "web", {
      status: { observedGeneration: 1, replicas: 2 },
    });
    await writeFile(join(dir, "app.yaml"), app(3, ""));
    expect(await kctl("apply", "-f", "app.yaml")).toEqual({
      code: 0,
      stdout:
        "namespace/demo unchanged\nconfigmap/cfg unchanged\ndeployment.apps/web configured\nservice/web unchanged\n",
      stderr: "",
    });
    const live = await cluster.registry.get(deployments, "demo", "web");
    expect(live.metadata.generation).toBe(2);
    expect((live.spec as { replicas: number }).replicas).toBe(3);
    expect(live.metadata.labels).toEqual({ app: "web" });
    expect(live.status).toMatchObject({ observedGeneration: 1, replicas: 2 });
    expect((live.spec as { strategy?: { type?: string } }).strategy?.type).toBe("RollingUpdate");
  });

  it("uses -n for manifests without a namespace and refuses a conflicting one", async () => {
    await writeFile(join(dir, "plain.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\n");
    expect(await kctl("apply", "-f", "plain.yaml", "-n", "demo")).toMatchObject({
      code: 0,
      stdout: "configmap/plain created\n",
    });
    expect((await cluster.registry.get(configmaps, "demo", "plain")).metadata.namespace).toBe("demo");
    const r = await kctl("apply", "-f", "app.yaml", "-n", "other");
    expect(r.code).toBe(1);
    expect(r.stderr.split("\n")[0]).toBe(
      'error: app.yaml: document 2: metadata.namespace: the namespace from the provided object "demo" does not match the namespace "other" given with -n; pass -n demo or remove one of them',
    );
  });

  it("reads stdin and validates with --dry-run=server without writing", async () => {
    const r = await runKctl(["apply", "-f", "-", "--dry-run=server"], {
      env: { KCTL_CONFIG: cluster.configPath },
      stdin: deployment("dry"),
    });
    expect(r).toEqual({ code: 0, stdout: "deployment.apps/dry created (server dry run)\n", stderr: "" });
    await expect(cluster.registry.get(deployments, "default", "dry")).rejects.toThrow(/not found/);
  });

  it("applies into a namespace created by the same apply, checking such objects locally first", async () => {
    const ns = "apiVersion: v1\nkind: Namespace\nmetadata: {name: fresh}\n---\n";
    const inFresh = deployment("web").replace(
      "metadata: {name: web}",
      "metadata: {name: web, namespace: fresh}",
    );
    await writeFile(
      join(dir, "fresh-bad.yaml"),
      ns + inFresh.replace("containerPort: 80", "containerPort: 70000"),
    );
    const bad = await kctl("apply", "-f", "fresh-bad.yaml");
    expect(bad).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "error: fresh-bad.yaml: document 2: spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive\n",
    });
    await expect(cluster.registry.get(namespaces, undefined, "fresh")).rejects.toThrow(/not found/);
    await writeFile(join(dir, "fresh.yaml"), ns + inFresh);
    expect(await kctl("apply", "-f", "fresh.yaml")).toEqual({
      code: 0,
      stdout: "namespace/fresh created\ndeployment.apps/web created\n",
      stderr: "",
    });
  });

  it("applies every Kubernetes documentation example, or names the field it cannot take", async () => {
    const e = join(import.meta.dirname, "testdata/k8s-examples");
    // One example lives in a namespace nobody created; two define the same Deployment with different
    // selectors, so the second cannot update the first (spec.selector is immutable). The check of
    // the whole set finds both before any write.
    expect(await kctl("apply", "-f", `${e}/`)).toEqual({
      code: 1,
      stdout: "",
      stderr:
        `error: ${e}/memory-request-limit-2.yaml: document 1: metadata.namespace: Namespace "mem-example" not found\n` +
        `error: ${e}/nginx-deployment.yaml: document 1: spec.selector: Invalid value: {...}: field is immutable\n`,
    });
    await writeFile(
      join(dir, "mem-ns.yaml"),
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: mem-example}\n",
    );
    expect(await kctl("apply", "-f", "mem-ns.yaml", "-f", `${e}/`)).toEqual({
      code: 1,
      stdout: "",
      stderr: `error: ${e}/nginx-deployment.yaml: document 1: spec.selector: Invalid value: {...}: field is immutable\n`,
    });
    await expect(cluster.registry.get(namespaces, undefined, "mem-example")).rejects.toThrow(/not found/);

    // File by file, each applies; nginx-deployment.yaml is refused over the deployment of the same
    // name as Kubernetes refuses it, and applies once that one is deleted.
    const outcomes: string[] = [];
    for (const file of [
      "mem-ns.yaml",
      ...(await readdir(e))
        .filter((f) => f.endsWith(".yaml"))
        .sort()
        .map((f) => `${e}/${f}`),
    ]) {
      const r = await kctl("apply", "-f", file);
      outcomes.push(`${r.code} ${r.stdout}${r.stderr}`.trim());
    }
    expect(outcomes).toEqual([
      "0 namespace/mem-example created",
      "0 configmap/special-config created\nconfigmap/env-config created",
      "0 deployment.apps/nginx-deployment created",
      "0 pod/liveness-exec created",
      "0 pod/init-demo created",
      "0 pod/memory-demo-2 created",
      `1 error: ${e}/nginx-deployment.yaml: document 1: spec.selector: Invalid value: {...}: field is immutable`,
      "0 service/my-nginx created",
      "0 pod/dapi-test-pod created",
      "0 pod/pod-with-tcp-socket-healthcheck created",
      "0 pod/nginx created",
      "0 deployment.apps/my-nginx created",
      "0 pod/shared-volume-example created",
      "0 pod/goproxy created",
    ]);
    expect((await kctl("delete", "-f", `${e}/deployment-update.yaml`)).stdout).toBe(
      'deployment.apps "nginx-deployment" deleted\n',
    );
    expect((await kctl("apply", "-f", `${e}/nginx-deployment.yaml`)).stdout).toBe(
      "deployment.apps/nginx-deployment created\n",
    );
  });
});

describe("kctl apply refuses bad input: one line naming file, document and field; nothing written", () => {
  let cluster: TestCluster;
  let dir: string;

  beforeAll(async () => {
    cluster = await startTestCluster();
    dir = await mkdtemp(join(tmpdir(), "kctl-bad-"));
  });
  afterAll(async () => {
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const containers = (list: string) => (s: string) =>
    s.replace("containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]", `containers: ${list}`);

  it.each([
    [
      "malformed YAML",
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n data: x\n",
      "document 1: line 5, column 1: All mapping items must start at the same column",
    ],
    [
      "a misplaced brace in flow style",
      deployment("web", containers("[{name: web, image: nginx, {name: b}}]")),
      "document 1: line 10, column 46: a mapping key must be a plain value, not a list or mapping (is a comma or brace misplaced?)",
    ],
    [
      "a document with no kind",
      "apiVersion: v1\nmetadata: {name: a}\n",
      "document 1: kind: Required value: every object needs apiVersion and kind",
    ],
    [
      "an unknown kind",
      "apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nmetadata: {name: a}\n",
      'document 1: kind: no matches for kind "CertificateSigningRequest" in version "certificates.k8s.io/v1" (this API serves',
    ],
    [
      "a wrong field type",
      deployment("web", (s) => s.replace("replicas: 2", "replicas: two")),
      'document 1: spec.replicas: Invalid value: "two": expected an integer (int32), got string',
    ],
    [
      "a name with capital letters",
      deployment("Web"),
      'document 1: metadata.name: Invalid value: "Web": a lowercase RFC 1123 subdomain must consist of',
    ],
    [
      "a selector that does not match the template",
      deployment("web", (s) => s.replace("matchLabels: {app: web}", "matchLabels: {app: other}")),
      "document 1: spec.template.metadata.labels: Invalid value: {...}: `selector` does not match template `labels`",
    ],
    [
      "a port of 70000",
      deployment("web", (s) => s.replace("containerPort: 80", "containerPort: 70000")),
      "document 1: spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
    ],
    [
      "duplicate container names",
      deployment("web", containers("[{name: web, image: nginx}, {name: web, image: busybox}]")),
      'document 1: spec.template.spec.containers[1].name: Duplicate value: "web"',
    ],
    [
      "a bad quantity",
      deployment("web", containers("[{name: web, image: nginx, resources: {limits: {memory: 128MB}}}]")),
      'document 1: spec.template.spec.containers[0].resources.limits[memory]: Invalid value: "128MB": quantities must match',
    ],
    [
      "negative replicas",
      deployment("web", (s) => s.replace("replicas: 2", "replicas: -1")),
      "document 1: spec.replicas: Invalid value: -1: must be greater than or equal to 0",
    ],
    [
      "a pod with no containers",
      "apiVersion: v1\nkind: Pod\nmetadata: {name: empty}\nspec: {containers: []}\n",
      "document 1: spec.containers: Required value",
    ],
    [
      "an object over 1.5 MiB",
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata: {blob: "${"x".repeat(1600 * 1024)}"}\n`,
      'document 1: ConfigMap "big" is too large to store:',
    ],
    [
      "a multi-document file whose second document is invalid",
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n---\n${deployment("web", (s) => s.replace("replicas: 2", "replicas: -1"))}`,
      "document 2: spec.replicas: Invalid value: -1: must be greater than or equal to 0",
    ],
  ])("%s", async (what, text, message) => {
    const file = `${what.replaceAll(" ", "-")}.yaml`;
    await writeFile(join(dir, file), text);
    const r = await runKctl(["apply", "-f", file], { env: { KCTL_CONFIG: cluster.configPath }, cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    const lines = r.stderr.split("\n").filter((l) => !l.startsWith("warning: "));
    expect(lines).toHaveLength(2);
    expect(lines[0]!.startsWith(`error: ${file}: ${message}`), lines[0]).toBe(true);
    for (const kind of ["deployments", "configmaps", "pods"]) {
      const info = resolveResourceName(kind)!;
      expect((await cluster.registry.list(info, { namespace: "default" })).items, `${kind} written`).toEqual(
        [],
      );
    }
  });
});
