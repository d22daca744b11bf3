import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveResourceName } from "../foundation/api/resources.js";
import { writeConfig } from "./config.js";
import { runKctl } from "./testing/run-kctl.js";
import { startTestCluster, type TestCluster } from "./testing/test-cluster.js";

const pods = resolveResourceName("pods")!;
const events = resolveResourceName("events")!;

const pod = (name: string, labels: Record<string, string>) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, labels },
  spec: { containers: [{ name: "c", image: "busybox" }] },
});

const manifests = `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop, labels: {app: shop}}
data: {color: blue, size: "3"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop, labels: {app: shop}}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: api, image: "kctl.local/busybox:debian", ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  type: NodePort
  selector: {app: api}
  ports: [{port: 80, targetPort: 8080, nodePort: 30080}]
`;

describe("kctl get, describe, delete against a real apiserver and etcd", () => {
  let cluster: TestCluster;
  let dir: string;
  const env = () => ({ KCTL_CONFIG: cluster.configPath });
  const kctl = (...argv: string[]) => runKctl(argv, { env: env(), cwd: dir });

  beforeAll(async () => {
    cluster = await startTestCluster();
    dir = await mkdtemp(join(tmpdir(), "kctl-get-"));
    await writeFile(join(dir, "shop.yaml"), manifests);
    expect((await kctl("apply", "-f", "shop.yaml")).code).toBe(0);
    await cluster.registry.create(pods, pod("a", { app: "web", tier: "front" }), { namespace: "default" });
    await cluster.registry.create(pods, pod("b", { app: "web", tier: "back" }), { namespace: "default" });
  });
  afterAll(async () => {
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("prints -o jsonpath templates over one object or the list, and refuses a broken one", async () => {
    expect(
      (await kctl("get", "svc", "api", "-n", "shop", "-o", "jsonpath={.spec.ports[0].nodePort}")).stdout,
    ).toBe("30080");
    const names = await kctl("get", "pods", "-o", 'jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}');
    expect(names).toEqual({ code: 0, stdout: "a\nb\n", stderr: "" });
    const broken = await kctl("get", "pods", "-o", "jsonpath={.items[*");
    expect(broken.code).toBe(2);
    expect(broken.stderr.split("\n")[0]).toBe("error: -o jsonpath: the action at column 1 has no closing }");
  });

  it("lists tables per kind with short names, -n, -A and -l", async () => {
    const r = await kctl("get", "po");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^NAME {3}READY {3}STATUS {4}RESTARTS {3}AGE\na {6}0\/1 {5}Pending {3}0 {10}\d+s\nb {6}0\/1/,
    );
    expect((await kctl("get", "pods", "-l", "tier=front", "-o", "name")).stdout).toBe("pod/a\n");
    expect((await kctl("get", "pod", "-l", "app in (web),tier!=front", "-o", "name")).stdout).toBe("pod/b\n");

    const svc = await kctl("get", "svc", "-n", "shop");
    expect(svc.stdout.split("\n")[0]).toMatch(/^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/);
    expect(svc.stdout.split("\n")[1]).toMatch(/^api\s+NodePort\s+\S+\s+<none>\s+80:30080\/TCP\s+\d+s$/);

    const all = await kctl("get", "deploy,cm", "-A");
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(
      /^NAMESPACE\s+NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nshop\s+deployment\.apps\/api\s+0\/2\s+0\s+0\s+\d+s\n\nNAMESPACE\s+NAME\s+DATA\s+AGE\nshop\s+configmap\/settings\s+2\s+\d+s\n$/,
    );

    const wide = await kctl("get", "deploy", "-n", "shop", "-o", "wide");
    expect(wide.stdout).toMatch(
      /CONTAINERS\s+IMAGES\s+SELECTOR\n.*\s+api\s+kctl\.local\/busybox:debian\s+app=api\n$/,
    );
  });

  it("prints one object bare and several as a List, by KIND NAME or KIND/NAME", async () => {
    const one = JSON.parse((await kctl("get", "cm/settings", "-n", "shop", "-o", "json")).stdout);
    expect(one).toMatchObject({
      kind: "ConfigMap",
      metadata: { name: "settings", namespace: "shop" },
      data: { color: "blue" },
    });
    expect(one.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    const two = JSON.parse((await kctl("get", "po", "a", "b", "-o", "json")).stdout);
    expect(two.kind).toBe("List");
    expect(two.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(["a", "b"]);
    const yaml = await kctl("get", "ns", "shop", "-o", "yaml");
    expect(yaml.stdout).toMatch(/^apiVersion: v1\nkind: Namespace\nmetadata:\n {2}name: shop\n/);
  });

  it("reports missing objects and empty namespaces like kubectl", async () => {
    expect(await kctl("get", "po", "nope")).toEqual({
      code: 1,
      stdout: "",
      stderr: expect.stringMatching(/^Error from server \(NotFound\): .*"nope" not found\n$/),
    });
    const mixed = await kctl("get", "po", "a", "nope", "-o", "name");
    expect(mixed.code).toBe(1);
    expect(mixed.stdout).toBe("pod/a\n");
    expect(await kctl("get", "cm", "-n", "kube-system")).toEqual({
      code: 0,
      stdout: "",
      stderr: "No resources found in kube-system namespace.\n",
    });
    expect((await kctl("get", "gadgets")).stderr).toBe(
      'error: the server doesn\'t have a resource type "gadgets"; "kctl api-resources" lists them\n',
    );
  });

  it("get -w prints the table, then a line per change until interrupted", async () => {
    const stop = new AbortController();
    let lines: string[] = [];
    const waitFor = async (n: number) => {
      for (let i = 0; i < 200 && lines.length < n; i++) await new Promise((r) => setTimeout(r, 25));
      expect(lines.length).toBeGreaterThanOrEqual(n);
    };
    const run = runKctl(["get", "pods", "-w", "-l", "app=web"], {
      env: env(),
      signal: stop.signal,
      onStdout: (out) => {
        lines = out.split("\n").filter(Boolean);
      },
    });
    await waitFor(3);
    await cluster.registry.create(pods, pod("c", { app: "web" }), { namespace: "default" });
    await cluster.registry.create(pods, pod("other", { app: "db" }), { namespace: "default" });
    await waitFor(4);
    await cluster.registry.delete(pods, "default", "c", { gracePeriodSeconds: 0 });
    await waitFor(5);
    stop.abort();
    const r = await run;
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").map((l) => l.split(/\s+/)[0])).toEqual(["NAME", "a", "b", "c", "c", ""]);
    // Watched rows line up with the header.
    const header = r.stdout.split("\n")[0]!;
    expect(r.stdout.split("\n")[3]!.indexOf("Pending")).toBe(header.indexOf("STATUS"));
  });

  it("describe shows metadata, spec highlights and the object's events", async () => {
    const a = await cluster.registry.get(pods, "default", "a");
    const now = new Date().toISOString();
    const event = (name: string, uid: string | undefined, podName: string, message: string) => ({
      apiVersion: "v1",
      kind: "Event",
      metadata: { name },
      involvedObject: { kind: "Pod", namespace: "default", name: podName, ...(uid ? { uid } : {}) },
      reason: "Scheduled",
      message,
      type: "Normal",
      source: { component: "default-scheduler" },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    });
    await cluster.registry.create(
      events,
      event("a.1", a.metadata.uid, "a", "Successfully assigned default/a to n1"),
      {
        namespace: "default",
      },
    );
    await cluster.registry.create(events, event("b.1", undefined, "b", "about b"), { namespace: "default" });
    const r = await kctl("describe", "pod", "a");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Name: {15}a\nNamespace: {10}default\nLabels: {13}app=web\n {20}tier=front\n/);
    expect(r.stdout).toContain("Containers:\n  c:\n    Image:");
    expect(r.stdout).toMatch(
      /\nEvents:\n {2}Type {4}Reason {5}Age {3}From {15}Message\n {2}---- {4}------ {5}---- {2}---- {15}-------\n {2}Normal {2}Scheduled {2}\d+s\s+default-scheduler {2}Successfully assigned default\/a to n1\n$/,
    );
    expect(r.stdout).not.toContain("about b");

    const d = await kctl("describe", "deploy/api", "-n", "shop");
    expect(d.stdout).toContain(
      "Replicas:               2 desired | 0 updated | 0 total | 0 available | 0 unavailable\n",
    );
    expect(d.stdout).not.toContain("last-applied-configuration");
    expect(d.stdout).toMatch(/Events: +<none>\n$/);
    const cm = await kctl("describe", "cm", "settings", "-n", "shop");
    expect(cm.stdout).toContain("Data\n====\ncolor:\n----\nblue\n");
  });

  it("api-resources reads the server's discovery; version reports both sides", async () => {
    const r = await kctl("api-resources");
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/\ndeployments\s+deploy\s+apps\/v1\s+true\s+Deployment\n/);
    expect(r.stdout).toMatch(/\nnamespaces\s+ns\s+v1\s+false\s+Namespace\n/);
    const v = await kctl("version");
    expect(v.stdout).toMatch(/^Client Version: v0\.1\.0\nServer Version: v\S+\n$/);
  });

  it("delete by name, by selector and by file, with --ignore-not-found and --cascade", async () => {
    expect(await kctl("delete", "po", "a", "--grace-period=0")).toEqual({
      code: 0,
      stdout: 'pod "a" deleted\n',
      stderr: "",
    });
    expect(await kctl("delete", "po", "a")).toEqual({
      code: 1,
      stdout: "",
      stderr: expect.stringMatching(/^Error from server \(NotFound\): .*"a" not found\n$/),
    });
    expect(await kctl("delete", "po", "a", "--ignore-not-found")).toEqual({
      code: 0,
      stdout: "",
      stderr: "",
    });
    expect((await kctl("delete", "pods", "-l", "app=web", "--grace-period", "0")).stdout).toBe(
      'pod "b" deleted\n',
    );
    expect((await kctl("delete", "pods", "-l", "app=web")).stderr).toBe(
      "No resources found in default namespace\n",
    );
    await cluster.registry.create(pods, pod("x", {}), { namespace: "default" });
    await cluster.registry.create(pods, pod("y", {}), { namespace: "default" });
    expect((await kctl("delete", "pods", "--all", "--grace-period=0")).stdout).toBe(
      'pod "other" deleted\npod "x" deleted\npod "y" deleted\n',
    );
    const r = await kctl("delete", "-f", "shop.yaml", "--cascade=foreground");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(
      'service "api" deleted\ndeployment.apps "api" deleted\nconfigmap "settings" deleted\nnamespace "shop" deleted\n',
    );
  });

  // Stock kubectl is on the development machines but not part of the install, hence the guard.
  it.runIf(spawnSync("kubectl", ["version", "--client"]).status === 0)(
    "the config is a kubeconfig stock kubectl can use",
    async () => {
      const child = spawn("kubectl", [
        "--kubeconfig",
        cluster.configPath,
        "get",
        "namespace",
        "default",
        "-o",
        "name",
      ]);
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
      });
      expect(await new Promise((resolve) => child.on("close", resolve))).toBe(0);
      expect(out).toBe("namespace/default\n");
    },
  );

  it("refuses a bad token and an untrusted server with one clear line", async () => {
    const text = await readFile(cluster.configPath, "utf8");
    const badToken = join(dir, "bad-token");
    await writeFile(badToken, text.replace(cluster.token, "wrong"));
    const r = await runKctl(["get", "po"], { env: { KCTL_CONFIG: badToken } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error from server \(Unauthorized\): .+\n$/);

    const noCa = join(dir, "no-ca");
    await writeConfig(noCa, { server: cluster.server.url, token: cluster.token });
    const t = await runKctl(["get", "po"], { env: { KCTL_CONFIG: noCa } });
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(
      new RegExp(
        `^error: cannot verify the TLS certificate of the server at ${cluster.server.url} \\(from ${noCa}\\): .*; check certificate-authority-data in the config\\n$`,
      ),
    );
  });
});
