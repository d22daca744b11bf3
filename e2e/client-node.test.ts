/**
 * A user's TypeScript program against a one-host lab, written with @kubernetes/client-node as its
 * README teaches: list pods, watch them with an informer (an add and a delete seen), create a
 * Deployment, patch it with a merge patch and with server-side apply (a field manager), stream a
 * pod's log, exec a command (its output and exit code), and port-forward to a pod for an HTTP
 * request. The lab's admin kubeconfig is loaded as any kubeconfig. And the same library inside a
 * pod: `loadFromCluster()` with the pod's ServiceAccount token, CA and the `kubernetes` Service
 * (the pod runs this machine's node binary and the project's client-node from hostPath volumes).
 */

import { get as httpGet } from "node:http";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { Writable } from "node:stream";
import * as k8s from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downLab, eventually, isRoot, type LabCluster, startLabCluster } from "./support/lab-cluster.js";

const ns = "default";
const image = "kctl.local/busybox:debian";

function collect(): { stream: Writable; text: () => string } {
  let text = "";
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

describe.skipIf(!isRoot)("@kubernetes/client-node against a lab", () => {
  let lab: LabCluster;
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;
  let forwarder: Server | undefined;

  beforeAll(async () => {
    lab = await startLabCluster("cn", 1);
    kc = new k8s.KubeConfig();
    kc.loadFromFile(lab.config);
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: "web", labels: { app: "cn-web" } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: "web",
              image,
              command: [
                "sh",
                "-c",
                "echo hello-from-web > /tmp/index.html; echo started; exec httpd -f -p 80 -h /tmp",
              ],
            },
          ],
        },
      },
    });
    await eventually("pod web running", async () => {
      const pod = await core.readNamespacedPod({ name: "web", namespace: ns });
      return pod.status?.phase === "Running" ? true : undefined;
    });
  }, 600_000);
  afterAll(() => forwarder?.close());
  afterAll(downLab(() => lab));

  it("lists pods", async () => {
    const list = await core.listNamespacedPod({ namespace: ns });
    expect(list.items.map((p) => p.metadata?.name)).toContain("web");
  });

  it("watches with an informer: sees a pod added and deleted", async () => {
    const informer = k8s.makeInformer(kc, `/api/v1/namespaces/${ns}/pods`, () =>
      core.listNamespacedPod({ namespace: ns }),
    );
    const added: string[] = [];
    const deleted: string[] = [];
    informer.on("add", (p) => added.push(p.metadata?.name ?? ""));
    informer.on("delete", (p) => deleted.push(p.metadata?.name ?? ""));
    await informer.start();
    try {
      await core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name: "watched" },
          spec: {
            terminationGracePeriodSeconds: 0,
            containers: [{ name: "c", image, command: ["sleep", "3600"] }],
          },
        },
      });
      await eventually("the informer's add", async () => (added.includes("watched") ? true : undefined));
      await core.deleteNamespacedPod({ name: "watched", namespace: ns, gracePeriodSeconds: 0 });
      await eventually("the informer's delete", async () => (deleted.includes("watched") ? true : undefined));
    } finally {
      await informer.stop();
    }
  });

  it("creates a Deployment, patches it by merge patch and by server-side apply", async () => {
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: "cn-deploy" },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "cn-deploy" } },
          template: {
            metadata: { labels: { app: "cn-deploy" } },
            spec: { containers: [{ name: "c", image, command: ["sleep", "3600"] }] },
          },
        },
      },
    });
    const merged = await apps.patchNamespacedDeployment(
      { name: "cn-deploy", namespace: ns, body: { metadata: { labels: { patched: "merge" } } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    expect(merged.metadata?.labels?.patched).toBe("merge");
    const applied = await apps.patchNamespacedDeployment(
      {
        name: "cn-deploy",
        namespace: ns,
        fieldManager: "client-node-e2e",
        force: true,
        body: {
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name: "cn-deploy", annotations: { "applied-by": "client-node" } },
          spec: { replicas: 2 },
        },
      },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.ServerSideApply),
    );
    expect(applied.spec?.replicas).toBe(2);
    expect(applied.metadata?.annotations?.["applied-by"]).toBe("client-node");
    expect(applied.metadata?.managedFields?.map((f) => f.manager)).toContain("client-node-e2e");
  });

  it("streams a pod's log", async () => {
    const out = collect();
    const log = new k8s.Log(kc);
    await eventually("the log line", async () => {
      const req = await log.log(ns, "web", "web", out.stream, { follow: false });
      await new Promise((r) => out.stream.on("finish", r).on("close", r));
      req.abort();
      return out.text().includes("started") ? true : undefined;
    });
  });

  it("execs a command: its output and its exit code", async () => {
    const exec = new k8s.Exec(kc);
    const run = async (command: string[]) => {
      const out = collect();
      const err = collect();
      const status = await new Promise<k8s.V1Status>((resolve) => {
        void exec.exec(ns, "web", "web", command, out.stream, err.stream, null, false, resolve);
      });
      return { status, stdout: out.text(), stderr: err.text() };
    };
    const ok = await run(["cat", "/tmp/index.html"]);
    expect(ok.status.status).toBe("Success");
    expect(ok.stdout).toBe("hello-from-web\n");
    const failed = await run(["sh", "-c", "echo oops >&2; exit 4"]);
    expect(failed.status.reason).toBe("NonZeroExitCode");
    expect(failed.status.details?.causes?.find((c) => c.reason === "ExitCode")?.message).toBe("4");
    expect(failed.stderr).toBe("oops\n");
  });

  it("port-forwards to the pod and makes an HTTP request through it", async () => {
    const pf = new k8s.PortForward(kc);
    forwarder = createServer((socket) => {
      void pf.portForward(ns, "web", [80], socket, null, socket);
    });
    await new Promise<void>((r) => forwarder!.listen(0, "127.0.0.1", r));
    const port = (forwarder.address() as { port: number }).port;
    const body = await new Promise<string>((resolve, reject) => {
      httpGet({ host: "127.0.0.1", port, path: "/index.html", agent: false }, (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => resolve(text));
      }).on("error", reject);
    });
    expect(body).toBe("hello-from-web\n");
  });

  it("works inside a pod with loadFromCluster(), as the pod's ServiceAccount", async () => {
    const modules = join(process.cwd(), "node_modules");
    const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: "default-view" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
        subjects: [{ kind: "ServiceAccount", name: "default", namespace: ns }],
      },
    });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: {
        metadata: { name: "in-cluster-program" },
        data: {
          "main.mjs": [
            `import * as k8s from "${modules}/@kubernetes/client-node/dist/index.js";`,
            "const kc = new k8s.KubeConfig();",
            "kc.loadFromCluster();",
            "const core = kc.makeApiClient(k8s.CoreV1Api);",
            `const list = await core.listNamespacedPod({ namespace: "${ns}" });`,
            'console.log("in-cluster pods:", list.items.map((p) => p.metadata.name).sort().join(","));',
          ].join("\n"),
        },
      },
    });
    const host = (name: string, path: string) => ({ name, hostPath: { path } });
    const at = (name: string, path: string) => ({ name, mountPath: path, readOnly: true });
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: "in-cluster" },
        spec: {
          restartPolicy: "Never",
          volumes: [
            host("node", "/usr/bin/node"),
            host("libs", "/usr/lib/x86_64-linux-gnu"),
            host("loader", "/usr/lib64"),
            host("modules", modules),
            { name: "program", configMap: { name: "in-cluster-program" } },
          ],
          containers: [
            {
              name: "main",
              image,
              command: ["/usr/bin/node", "/program/main.mjs"],
              volumeMounts: [
                at("node", "/usr/bin/node"),
                at("libs", "/lib/x86_64-linux-gnu"),
                at("loader", "/lib64"),
                at("modules", modules),
                at("program", "/program"),
              ],
            },
          ],
        },
      },
    });
    const phase = await eventually(
      "the in-cluster program to finish",
      async () => {
        const p = await core.readNamespacedPod({ name: "in-cluster", namespace: ns });
        return p.status?.phase === "Succeeded" || p.status?.phase === "Failed" ? p.status.phase : undefined;
      },
      180_000,
    );
    const log = await core.readNamespacedPodLog({ name: "in-cluster", namespace: ns });
    expect(phase, log).toBe("Succeeded");
    expect(log).toMatch(/in-cluster pods: .*in-cluster/);
  }, 240_000);
});
