/**
 * The foundation end to end, as a user runs it: `kctl up` as a real process with a real etcd child,
 * `kctl apply/get/delete` as real processes against it, a restart that keeps every object.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "./support/eventually.js";
import { type Background, kctl, kctlBackground, kctlUpLocal, requireBuild } from "./support/kctl-process.js";

const root = join(import.meta.dirname, "..");
const examples = join(root, "foundation", "api", "testdata", "k8s-examples");

describe("kctl up + apply/get/delete", () => {
  let dir: string;
  let config: string;
  let stateDir: string;
  let up: Background | undefined;

  const startUp = async (...flags: string[]) => {
    up = kctlUpLocal(stateDir, config, flags);
    await up.waitFor(/control plane ready/);
  };
  const run = (...args: string[]) => kctl(args, { config });

  beforeAll(async () => {
    requireBuild();
    dir = await mkdtemp(join(tmpdir(), "kctl-e2e-up-"));
    config = join(dir, "config");
    stateDir = join(dir, "state");
    await startUp();
  });

  afterAll(async () => {
    await up?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("applies the project's manifests, then reports them unchanged", async () => {
    const first = await run("apply", "-f", join(root, "manifests"));
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("namespace/demo created");
    expect(first.stdout).toContain("configmap/app-config created");
    expect(first.stdout).toContain("deployment.apps/web created");
    expect(first.stdout).toContain("service/web created");
    const again = await run("apply", "-f", join(root, "manifests"));
    expect(again.code).toBe(0);
    expect(again.stdout).not.toMatch(/created|configured/);
    expect(again.stdout).toContain("deployment.apps/web unchanged");
  });

  it("shows server-set metadata, and an edit is configured with a new generation", async () => {
    const yaml = (await run("get", "deploy", "web", "-n", "demo", "-o", "yaml")).stdout;
    expect(yaml).toMatch(/uid: [0-9a-f-]{36}/);
    expect(yaml).toMatch(/resourceVersion: "\d+"/);
    expect(yaml).toMatch(/generation: 1\b/);
    expect(yaml).toMatch(/creationTimestamp: \d{4}-\d\d-\d\dT/);

    const edited = join(dir, "web.yaml");
    await writeFile(
      edited,
      (await readFile(join(root, "manifests", "web.yaml"), "utf8")).replace("replicas: 3", "replicas: 5"),
    );
    const res = await run("apply", "-f", edited);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain("deployment.apps/web configured");
    expect(res.stdout).toContain("service/web unchanged");
    const json = JSON.parse((await run("get", "deploy", "web", "-n", "demo", "-o", "json")).stdout);
    expect(json.metadata.generation).toBe(2);
    expect(json.spec.replicas).toBe(5);
  });

  it("streams changes with get -w", async () => {
    const watch = kctlBackground(["get", "pods", "-n", "demo", "-w"], { config });
    try {
      await watch.waitFor(/NAME\s+READY|No resources/);
      const pod = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: watched\n  namespace: demo\nspec:\n  containers:\n  - name: c\n    image: kctl.local/busybox:debian\n`;
      expect((await kctl(["apply", "-f", "-"], { config, input: pod })).code).toBe(0);
      await watch.waitFor(/watched\s+0\/1\s+Pending/);
    } finally {
      await watch.stop();
    }
  });

  // Two kctl processes per example file: about 15 s on an idle 2-core machine, a minute when loaded.
  it("applies every Kubernetes documentation example", { timeout: 180_000 }, async () => {
    // Each file in a namespace of its own, since two of them define the same Deployment; the one that
    // names its namespace (mem-example) gets it made first, as the documentation does.
    const files = (await readdir(examples)).filter((f) => f.endsWith(".yaml")).sort();
    for (const [i, file] of files.entries()) {
      const text = await readFile(join(examples, file), "utf8");
      const named = /namespace: *(\S+)/.exec(text)?.[1];
      const ns = named ?? `example-${i}`;
      const nsDoc = `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n`;
      expect((await kctl(["apply", "-f", "-"], { config, input: nsDoc })).code).toBe(0);
      const res = await run("apply", "-f", join(examples, file), ...(named ? [] : ["-n", ns]));
      expect({ file, code: res.code, stderr: res.stderr }).toEqual({ file, code: 0, stderr: "" });
    }
  });

  it("refuses a multi-document file whose second document is invalid, naming file, document and field, writing nothing", async () => {
    const bad = join(dir, "bad.yaml");
    await writeFile(
      bad,
      [
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first-ok\n  namespace: default\ndata:\n  a: b\n",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: Bad-Name\nspec:\n  replicas: -1\n  selector:\n    matchLabels: {app: x}\n  template:\n    metadata:\n      labels: {app: x}\n    spec:\n      containers:\n      - name: c\n        image: busybox\n",
      ].join("---\n"),
    );
    const res = await run("apply", "-f", bad);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain(bad);
    expect(res.stderr).toMatch(/document 2/);
    expect(res.stderr).toMatch(/metadata\.name|spec\.replicas/);
    const get = await run("get", "cm", "first-ok", "-n", "default");
    expect(get.code).not.toBe(0);
  });

  it("makes bootstrap tokens and prints the join command with the CA hash", async () => {
    const res = await run("token", "create", "--ttl", "1h", "--description", "e2e");
    expect(res.code).toBe(0);
    const token = /^([a-z0-9]{6})\.[a-z0-9]{16}$/m.exec(res.stdout);
    expect(token).not.toBeNull();
    expect(res.stdout).toMatch(/KCTL_TOKEN=\S+ kctl join https:\/\/\S+ --ca-cert-hash sha256:[0-9a-f]{64}/);
    expect((await run("token", "list")).stdout).toContain(token![1]);
    const bad = await run("token", "create", "--ttl", "soon");
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("--ttl");
  });

  it("refuses a leader election lease under 2 seconds, naming the flag", async () => {
    const res = await run("up", "--state-dir", join(dir, "unused"), "--leader-elect-lease-duration", "1");
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("--leader-elect-lease-duration must be at least 2 seconds");
    expect(await readdir(dir)).not.toContain("unused");
  });

  it("refuses a bad --load-balancer-pool naming the flag and the entry, making nothing", async () => {
    const res = await run(
      "up",
      "--state-dir",
      join(dir, "unused"),
      "--load-balancer-pool",
      "10.0.0.9-10.0.0.1",
    );
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain(
      '--load-balancer-pool: "10.0.0.9-10.0.0.1": the range ends before it starts',
    );
    expect(await readdir(dir)).not.toContain("unused");
  });

  it("keeps every object across a restart of kctl up, and reconciles without leader election when told", async () => {
    expect(await up?.stop()).toBe(0);
    await startUp("--leader-elect=false");
    const json = JSON.parse((await run("get", "deploy", "web", "-n", "demo", "-o", "json")).stdout);
    expect(json.spec.replicas).toBe(5);
    expect((await run("scale", "deployment/web", "-n", "demo", "--replicas", "2")).code).toBe(0);
    await eventually("the ReplicaSet scaled to 2", async () => {
      const rs = JSON.parse((await run("get", "rs", "-n", "demo", "-o", "json")).stdout);
      return rs.items.some((r: { spec: { replicas: number } }) => r.spec.replicas === 2) || undefined;
    });
    const del = await run("delete", "-f", join(root, "manifests", "web.yaml"));
    expect(del.code).toBe(0);
    expect(del.stdout).toContain('deployment.apps "web" deleted');
  });
});
