/**
 * Stock kubectl (/usr/bin/kubectl, v1.32 on the project's machines) against a real apiserver over
 * TLS with a real etcd: each test drives the binary the way a user does and checks what it prints
 * and what the server stored.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Etcd3 } from "etcd3";
import { Registry as MetricsRegistry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureCa, ensureServingCert } from "../../foundation/pki/pki.js";
import { Registry } from "../registry/index.js";
import { Store } from "../store/index.js";
import { type EtcdServer, startEtcd } from "../testing/etcd-server.js";
import { type ApiServer, startApiServer } from "./server.js";

const token = "kubectl-test-token-0123456789";
const run = promisify(execFile);
const haveKubectl = existsSync("/usr/bin/kubectl");

describe.skipIf(!haveKubectl)("stock kubectl against the apiserver", () => {
  let etcd: EtcdServer;
  let client: Etcd3;
  let store: Store;
  let server: ApiServer;
  let dir: string;

  beforeAll(async () => {
    etcd = await startEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
    const metrics = new MetricsRegistry();
    store = new Store({ client, metrics });
    const registry = new Registry({ store });
    await registry.ensureSystemNamespaces();
    dir = await mkdtemp(join(tmpdir(), "kctl-kubectl-"));
    const ca = await ensureCa(dir);
    const cert = await ensureServingCert(dir, ca, { hosts: ["127.0.0.1"], commonName: "apiserver" });
    server = await startApiServer({
      registry,
      port: 0,
      metrics,
      tls: { cert: cert.certPem, key: cert.keyPem },
      authenticate: (t) => (t === token ? { name: "admin" } : undefined),
    });
  });

  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    store?.close();
    client?.close();
    await etcd?.stop();
  });

  /** Runs kubectl; resolves with its output and exit code, never rejects on a non-zero exit. */
  async function kubectl(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
    try {
      const out = await run(
        "/usr/bin/kubectl",
        [`--server=${server.url}`, `--token=${token}`, "--insecure-skip-tls-verify", ...args],
        { env: { ...process.env, KUBECONFIG: "/dev/null", HOME: dir } },
      );
      return { ...out, code: 0 };
    } catch (err) {
      const e = err as { stdout: string; stderr: string; code: number };
      return { stdout: e.stdout, stderr: e.stderr, code: e.code };
    }
  }

  async function manifest(name: string, obj: unknown): Promise<string> {
    const file = join(dir, name);
    await writeFile(file, JSON.stringify(obj));
    return file;
  }

  const deployment = (name: string, extraSpec: Record<string, unknown> = {}) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "default" },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "web", image: "nginx:1", ports: [{ containerPort: 80 }] }] },
      },
      ...extraSpec,
    },
  });

  it("applies with default validation, and reports an unknown field naming it, writing nothing", async () => {
    const ok = await kubectl("apply", "-f", await manifest("d1.json", deployment("d1")));
    expect(ok.stderr).toBe("");
    expect(ok.stdout).toMatch(/deployment.apps\/d1 created/);
    const changed = deployment("d1");
    changed.spec.template.spec.containers[0]!.image = "nginx:2";
    const diff = await kubectl("diff", "-f", await manifest("d1b.json", changed));
    expect(diff.code).toBe(1);
    expect(diff.stdout).toMatch(/-\s+- image: nginx:1\n\+\s+- image: nginx:2/);
    const again = await kubectl("apply", "-f", await manifest("d1b.json", changed));
    expect(again.stdout).toMatch(/deployment.apps\/d1 configured/);
    const image = await kubectl(
      "get",
      "deploy",
      "d1",
      "-o",
      "jsonpath={.spec.template.spec.containers[0].image}",
    );
    expect(image.stdout).toBe("nginx:2");

    const bad = await kubectl("apply", "-f", await manifest("d2.json", deployment("d2", { replicaz: 3 })));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/unknown field "spec.replicaz"/);
    expect((await kubectl("get", "deploy", "d2")).stderr).toMatch(/NotFound|not found/);
  });

  it("honours --validate=warn and --validate=false (fieldValidation Warn and Ignore) by dropping unknown fields", async () => {
    const warn = await kubectl(
      "create",
      "--validate=warn",
      "-f",
      await manifest("d3.json", deployment("d3", { replicaz: 3 })),
    );
    expect(warn.stdout).toMatch(/deployment.apps\/d3 created/);
    expect(warn.stderr).toMatch(/Warning: unknown field "spec.replicaz"/);
    const ignore = await kubectl(
      "create",
      "--validate=false",
      "-f",
      await manifest("d4.json", deployment("d4", { replicaz: 3 })),
    );
    expect([ignore.stdout, ignore.stderr]).toEqual(["deployment.apps/d4 created\n", ""]);
  });

  it("explains a field from the served OpenAPI v3 document", async () => {
    const out = await kubectl("explain", "deployment.spec.strategy");
    expect(out.stderr).toBe("");
    expect(out.stdout).toMatch(/GROUP:\s+apps/);
    expect(out.stdout).toMatch(/KIND:\s+Deployment/);
    expect(out.stdout).toMatch(/FIELD: strategy <DeploymentStrategy>/);
    expect(out.stdout).toMatch(/rollingUpdate\s+<RollingUpdateDeployment>/);
    expect(out.stdout).toMatch(/type\s+<string>/);
    const recursive = await kubectl("explain", "pods.spec.containers", "--recursive");
    expect(recursive.stdout).toMatch(/name\s+<string> -required-/);
  });

  it("patches with --type json and undoes a rollout (kubectl sends JSON Patch with a test)", async () => {
    await kubectl("apply", "-f", await manifest("u1.json", deployment("u1")));
    const patched = await kubectl(
      "patch",
      "deployment",
      "u1",
      "--type",
      "json",
      "-p",
      '[{"op":"test","path":"/spec/replicas","value":1},{"op":"replace","path":"/spec/replicas","value":3}]',
    );
    expect(patched.stdout).toMatch(/deployment.apps\/u1 patched/);
    const failed = await kubectl(
      "patch",
      "deployment",
      "u1",
      "--type",
      "json",
      "-p",
      '[{"op":"test","path":"/spec/replicas","value":7}]',
    );
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(/test failed/);
    const bad = await kubectl("patch", "deployment", "u1", "--type", "json", "-p", '{"op":"add"}');
    expect(bad.code).not.toBe(0);

    // No controllers run here: write the two ReplicaSets the deployment controller would have made.
    const uid = (await kubectl("get", "deploy", "u1", "-o", "jsonpath={.metadata.uid}")).stdout;
    for (const [revision, image] of [
      ["1", "nginx:1"],
      ["2", "nginx:2"],
    ] as const) {
      const d = deployment("u1");
      const rs = {
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        metadata: {
          name: `u1-r${revision}`,
          namespace: "default",
          labels: { app: "u1" },
          annotations: { "deployment.kubernetes.io/revision": revision },
          ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: "u1", uid, controller: true }],
        },
        spec: { replicas: 0, selector: d.spec.selector, template: d.spec.template },
      };
      rs.spec.template.spec.containers[0]!.image = image;
      expect((await kubectl("create", "-f", await manifest(`rs${revision}.json`, rs))).code).toBe(0);
    }
    await kubectl("set", "image", "deployment/u1", "web=nginx:2");
    await kubectl("annotate", "--overwrite", "deployment/u1", "deployment.kubernetes.io/revision=2");
    const undo = await kubectl("rollout", "undo", "deployment/u1");
    expect(undo.stderr).toBe("");
    expect(undo.stdout).toMatch(/deployment.apps\/u1 rolled back/);
    const image = await kubectl(
      "get",
      "deploy",
      "u1",
      "-o",
      "jsonpath={.spec.template.spec.containers[0].image}",
    );
    expect(image.stdout).toBe("nginx:1");
  });

  it("applies server-side: fields per manager, a conflict named, --force-conflicts, a field dropped by re-applying", async () => {
    const cfg = deployment("s1");
    const first = await kubectl("apply", "--server-side", "-f", await manifest("s1.json", cfg));
    expect(first.stderr).toBe("");
    expect(first.stdout).toMatch(/deployment.apps\/s1 serverside-applied/);
    const managed = JSON.parse(
      (
        await kubectl(
          "get",
          "deploy",
          "s1",
          "--show-managed-fields",
          "-o",
          "jsonpath={.metadata.managedFields}",
        )
      ).stdout,
    );
    expect(managed).toMatchObject([{ manager: "kubectl", operation: "Apply", fieldsType: "FieldsV1" }]);
    expect(
      managed[0].fieldsV1["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}'],
    ).toMatchObject({
      ".": {},
      "f:image": {},
    });

    // Another manager wants a different image: a conflict naming the owner and the field, nothing written.
    const other = deployment("s1");
    other.spec.template.spec.containers[0]!.image = "nginx:9";
    const otherFile = await manifest("s1-other.json", other);
    const conflict = await kubectl("apply", "--server-side", "--field-manager=other", "-f", otherFile);
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toMatch(/Apply failed with \d+ conflicts?/);
    expect(conflict.stderr).toMatch(
      /conflict with "kubectl": \.spec\.template\.spec\.containers\[name="web"\]\.image/,
    );
    const image = () =>
      kubectl("get", "deploy", "s1", "-o", "jsonpath={.spec.template.spec.containers[0].image}");
    expect((await image()).stdout).toBe("nginx:1");
    const forced = await kubectl(
      "apply",
      "--server-side",
      "--field-manager=other",
      "--force-conflicts",
      "-f",
      otherFile,
    );
    expect(forced.stdout).toMatch(/serverside-applied/);
    expect((await image()).stdout).toBe("nginx:9");

    // kubectl re-applies without the label it owned alone: the server removes it.
    const labelled = deployment("s2");
    (labelled.metadata as Record<string, unknown>).labels = { team: "a", tier: "web" };
    await kubectl("apply", "--server-side", "-f", await manifest("s2.json", labelled));
    (labelled.metadata as Record<string, unknown>).labels = { team: "a" };
    await kubectl("apply", "--server-side", "-f", await manifest("s2b.json", labelled));
    const labels = await kubectl("get", "deploy", "s2", "-o", "jsonpath={.metadata.labels}");
    expect(JSON.parse(labels.stdout)).toEqual({ team: "a" });
  });

  it("moves a client-side applied object to server-side apply", async () => {
    await kubectl("apply", "-f", await manifest("m1.json", deployment("m1")));
    const ssa = await kubectl(
      "apply",
      "--server-side",
      "-f",
      await manifest("m1b.json", deployment("m1", { replicas: 2 })),
    );
    expect(ssa.stderr).toBe("");
    expect((await kubectl("get", "deploy", "m1", "-o", "jsonpath={.spec.replicas}")).stdout).toBe("2");
    // kubectl moved what client-side apply owned to its server-side apply entry.
    const managers = JSON.parse(
      (
        await kubectl(
          "get",
          "deploy",
          "m1",
          "--show-managed-fields",
          "-o",
          "jsonpath={.metadata.managedFields}",
        )
      ).stdout,
    ) as { manager: string; operation: string }[];
    const names = managers.map((m) => `${m.manager}/${m.operation}`);
    expect(names).toContain("kubectl/Apply");
    expect(names).not.toContain("kubectl-client-side-apply/Update");
  });

  it("records other writes' fields by manager, so server-side apply conflicts with them", async () => {
    await kubectl("apply", "--server-side", "-f", await manifest("r1.json", deployment("r1")));
    await kubectl("patch", "deployment", "r1", "--type", "merge", "-p", '{"spec":{"replicas":5}}');
    const managers = JSON.parse(
      (
        await kubectl(
          "get",
          "deploy",
          "r1",
          "--show-managed-fields",
          "-o",
          "jsonpath={.metadata.managedFields}",
        )
      ).stdout,
    ) as { manager: string; operation: string }[];
    expect(managers.map((m) => `${m.manager}/${m.operation}`)).toEqual([
      "kubectl/Apply",
      "kubectl-patch/Update",
    ]);
    const conflict = await kubectl(
      "apply",
      "--server-side",
      "-f",
      await manifest("r1b.json", deployment("r1")),
    );
    expect(conflict.stderr).toMatch(/conflict with "kubectl-patch": \.spec\.replicas/);
    expect((await kubectl("get", "deploy", "r1", "-o", "jsonpath={.spec.replicas}")).stdout).toBe("5");
  });

  it("creates typed objects, which kubectl sends as protobuf: create deployment/configmap/secret/namespace/service, run, expose", async () => {
    const ok = async (...args: string[]) => {
      const out = await kubectl(...args);
      expect(out.stderr).toBe("");
      return out.stdout;
    };
    expect(await ok("create", "deployment", "pb", "--image=nginx:1", "--replicas=2", "--port=80")).toMatch(
      /deployment.apps\/pb created/,
    );
    const d = JSON.parse(await ok("get", "deploy", "pb", "-o", "json"));
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.selector).toEqual({ matchLabels: { app: "pb" } });
    expect(d.spec.template.spec.containers[0]).toMatchObject({
      name: "nginx",
      image: "nginx:1",
      ports: [{ containerPort: 80 }],
    });
    expect(await ok("create", "configmap", "pbc", "--from-literal=a=1", "--from-literal=b=two")).toMatch(
      /configmap\/pbc created/,
    );
    expect(JSON.parse(await ok("get", "cm", "pbc", "-o", "jsonpath={.data}"))).toEqual({ a: "1", b: "two" });
    expect(await ok("create", "secret", "generic", "pbs", "--from-literal=k=v")).toMatch(
      /secret\/pbs created/,
    );
    expect(await ok("get", "secret", "pbs", "-o", "jsonpath={.data.k}")).toBe(
      Buffer.from("v").toString("base64"),
    );
    expect(await ok("create", "namespace", "pbns")).toMatch(/namespace\/pbns created/);
    expect(await ok("run", "pbpod", "--image=busybox", "--labels=app=pbpod", "--", "sleep", "3600")).toMatch(
      /pod\/pbpod created/,
    );
    const pod = JSON.parse(await ok("get", "pod", "pbpod", "-o", "json"));
    expect(pod.spec.containers[0]).toMatchObject({
      name: "pbpod",
      image: "busybox",
      args: ["sleep", "3600"],
    });
    expect(await ok("expose", "deployment", "pb", "--port=8080", "--target-port=80")).toMatch(
      /service\/pb exposed/,
    );
    const svc = JSON.parse(await ok("get", "svc", "pb", "-o", "json"));
    expect(svc.spec.ports[0]).toMatchObject({ port: 8080, targetPort: 80, protocol: "TCP" });
    expect(svc.spec.selector).toEqual({ app: "pb" });
    expect(await ok("create", "service", "clusterip", "pbsvc", "--tcp=5678:8080")).toMatch(
      /service\/pbsvc created/,
    );
  });
});
