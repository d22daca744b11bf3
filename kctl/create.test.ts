import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveResourceName } from "../foundation/api/resources.js";
import type { Deployment, Job, Service } from "../proto/gen/api.js";
import { runKctl } from "./testing/run-kctl.js";
import { startTestCluster, type TestCluster } from "./testing/test-cluster.js";

const deployments = resolveResourceName("deployments")!;
const services = resolveResourceName("services")!;
const words = (line: string) => line.split(" ");

describe("kctl create and expose against a real apiserver and etcd", () => {
  let cluster: TestCluster;
  const kctl = (...argv: string[]) => runKctl(argv, { env: { KCTL_CONFIG: cluster.configPath } });

  beforeAll(async () => {
    cluster = await startTestCluster();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("creates a namespace, a deployment in it and a Service for its pods", async () => {
    expect(await kctl("create", "namespace", "shop")).toEqual({
      code: 0,
      stdout: "namespace/shop created\n",
      stderr: "",
    });
    const created = await kctl(
      ...words("create deployment web -n shop --image example.com/tools/busybox:1.36 --replicas 2"),
      ...words("--port 8080 -- httpd -f -p 8080"),
    );
    expect(created.stdout).toBe("deployment.apps/web created\n");
    const d = (await cluster.registry.get(deployments, "shop", "web")) as Deployment;
    expect(d.spec?.replicas).toBe(2);
    expect(d.spec?.selector?.matchLabels).toEqual({ app: "web" });
    expect(d.spec?.template?.spec?.containers).toMatchObject([
      {
        name: "busybox",
        image: "example.com/tools/busybox:1.36",
        command: ["httpd", "-f", "-p", "8080"],
        ports: [{ containerPort: 8080 }],
      },
    ]);

    const exposed = await kctl(
      ...words("expose deployment/web -n shop --port 80 --target-port 8080 --type NodePort"),
    );
    expect(exposed.stdout).toBe("service/web exposed\n");
    const svc = (await cluster.registry.get(services, "shop", "web")) as Service;
    expect(svc.spec?.selector).toEqual({ app: "web" });
    expect(svc.spec?.ports?.[0]).toMatchObject({ port: 80, targetPort: 8080, protocol: "TCP" });
    expect(svc.spec?.ports?.[0]?.nodePort).toBeGreaterThanOrEqual(30000);
  });

  it("prints the object without creating it on --dry-run=client, and has the server check it on --dry-run=server", async () => {
    const yaml = await kctl(
      ...words("create deploy api --image registry.k8s.io/pause:3.9 --dry-run=client -o yaml"),
    );
    expect(yaml.code).toBe(0);
    expect(yaml.stdout).toContain("kind: Deployment\n");
    expect(yaml.stdout).toContain("- name: pause\n");
    expect(yaml.stdout).toContain("  selector:\n    matchLabels:\n      app: api\n");
    const server = await kctl("create", "namespace", "dry", "--dry-run=server");
    expect(server.stdout).toBe("namespace/dry created (server dry run)\n");
    const notThere = await kctl("get", "namespaces", "-o", "name");
    expect(notThere.stdout).not.toContain("namespace/dry");
    expect(notThere.stdout).not.toContain("deployment");
  });

  it.each([
    [["create", "deployment", "x"], 2, "error: create deployment: --image is required"],
    [["create", "secret", "x"], 2, 'error: kctl create: expected namespace, deployment or job, got "secret"'],
    [
      ["create", "deployment", "x", "--image", "i", "--replicas", "-1"],
      2,
      "error: --replicas: must be 0 or more, got -1",
    ],
    [
      ["create", "deployment", "x", "--image", "i", "--port", "70000"],
      2,
      "error: --port: must be 1 to 65535, got 70000",
    ],
    [["create", "namespace", "x", "--image", "i"], 2, 'error: --image applies only to "create deployment"'],
    [["create", "namespace", "default"], 1, "Error from server (AlreadyExists)"],
    [["create", "deployment", "Bad_Name", "--image", "i"], 1, 'metadata.name: Invalid value: "Bad_Name"'],
    [["expose", "deployment/web", "-n", "shop"], 2, "error: expose: --port is required"],
    [
      ["expose", "deployment/nope", "--port", "80"],
      1,
      'Error from server (NotFound): Deployment.apps "nope" not found',
    ],
    [["expose", "pod/web", "--port", "80"], 2, 'error: expose: "pod" is not a deployment'],
  ])("refuses %j naming the problem", async (args, code, message) => {
    const r = await kctl(...args);
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe("");
  });

  it("creates a Job from an image, or a manual run of a CronJob with --from", async () => {
    const jobs = resolveResourceName("jobs")!;
    const cronJobs = resolveResourceName("cronjobs")!;
    expect((await kctl(...words("create job once --image busybox -- date"))).stdout).toBe(
      "job.batch/once created\n",
    );
    const once = (await cluster.registry.get(jobs, "default", "once")) as Job;
    expect(once.spec?.template?.spec).toMatchObject({
      restartPolicy: "Never",
      containers: [{ name: "once", image: "busybox", command: ["date"] }],
    });
    const cj = await cluster.registry.create(cronJobs, {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "nightly", namespace: "default" },
      spec: {
        schedule: "@daily",
        jobTemplate: {
          metadata: { labels: { app: "nightly" } },
          spec: {
            template: { spec: { restartPolicy: "OnFailure", containers: [{ name: "c", image: "busybox" }] } },
          },
        },
      },
    });
    expect((await kctl(...words("create job by-hand --from=cronjob/nightly"))).stdout).toBe(
      "job.batch/by-hand created\n",
    );
    const byHand = (await cluster.registry.get(jobs, "default", "by-hand")) as Job;
    expect(byHand.metadata.annotations).toEqual({ "cronjob.kubernetes.io/instantiate": "manual" });
    expect(byHand.metadata.ownerReferences).toEqual([
      {
        apiVersion: "batch/v1",
        kind: "CronJob",
        name: "nightly",
        uid: cj.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(byHand.spec?.template?.metadata?.labels).toMatchObject({
      "batch.kubernetes.io/job-name": "by-hand",
    });
    const bad = await kctl(...words("create job x --from=deployment/web"));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--from: expected cronjob\/NAME, got "deployment\/web"/);
  });
});
