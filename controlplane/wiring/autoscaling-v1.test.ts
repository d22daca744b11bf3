/**
 * autoscaling/v1 as a view of stored v2 HPAs, driven by stock kubectl (v1.32 on these machines)
 * against a real apiserver and etcd: `kubectl autoscale` (a protobuf v1 POST) creates the HPA,
 * discovery lists both versions with v2 preferred, and a v1 read shows the v2 object's CPU target.
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
import { resourceForKind } from "../../foundation/api/resources.js";
import { ensureCa, ensureServingCert } from "../../foundation/pki/pki.js";
import type { HorizontalPodAutoscaler } from "../../proto/gen/api.js";
import { type ApiServer, startApiServer } from "../apiserver/server.js";
import { Registry } from "../registry/index.js";
import { Store } from "../store/index.js";
import { type EtcdServer, startEtcd } from "../testing/etcd-server.js";
import { autoscalingV1Api } from "./autoscaling-v1.js";

const run = promisify(execFile);
const token = "autoscale-test-token-0123456789";

describe.skipIf(!existsSync("/usr/bin/kubectl"))("autoscaling/v1 through kubectl autoscale", () => {
  let etcd: EtcdServer;
  let client: Etcd3;
  let store: Store;
  let registry: Registry;
  let server: ApiServer;
  let dir: string;

  beforeAll(async () => {
    etcd = await startEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
    const metrics = new MetricsRegistry();
    store = new Store({ client, metrics });
    registry = new Registry({ store });
    await registry.ensureSystemNamespaces();
    await registry.create(resourceForKind("apps/v1", "Deployment")!, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "default" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "app", image: "busybox" }] },
        },
      },
    });
    dir = await mkdtemp(join(tmpdir(), "kctl-autoscale-"));
    const ca = await ensureCa(dir);
    const cert = await ensureServingCert(dir, ca, { hosts: ["127.0.0.1"], commonName: "apiserver" });
    server = await startApiServer({
      registry,
      port: 0,
      metrics,
      tls: { cert: cert.certPem, key: cert.keyPem },
      authenticate: (t) => (t === token ? { name: "admin" } : undefined),
      aggregatedApis: [autoscalingV1Api(registry)],
    });
  });

  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    store?.close();
    client?.close();
    await etcd?.stop();
  });

  async function kubectl(...args: string[]) {
    try {
      const out = await run(
        "/usr/bin/kubectl",
        [
          `--server=${server.url}`,
          `--token=${token}`,
          "--insecure-skip-tls-verify",
          "-n",
          "default",
          ...args,
        ],
        { env: { ...process.env, KUBECONFIG: "/dev/null", HOME: dir } },
      );
      return { ...out, code: 0 };
    } catch (err) {
      const e = err as { stdout: string; stderr: string; code: number };
      return { stdout: e.stdout, stderr: e.stderr, code: e.code };
    }
  }

  it("creates the HPA from kubectl autoscale, stored as autoscaling/v2", async () => {
    const out = await kubectl("autoscale", "deployment", "web", "--cpu-percent=50", "--min=1", "--max=5");
    expect(out.stderr).toBe("");
    expect(out.stdout).toMatch(/horizontalpodautoscaler.autoscaling\/web autoscaled/);
    const stored = (await registry.get(
      resourceForKind("autoscaling/v2", "HorizontalPodAutoscaler")!,
      "default",
      "web",
    )) as unknown as HorizontalPodAutoscaler;
    expect(stored.spec).toMatchObject({
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
      minReplicas: 1,
      maxReplicas: 5,
      metrics: [
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
        },
      ],
    });
    const v1 = JSON.parse(
      (await kubectl("get", "--raw", "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/web"))
        .stdout,
    );
    expect(v1.spec).toEqual({
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
      minReplicas: 1,
      maxReplicas: 5,
      targetCPUUtilizationPercentage: 50,
    });
    const got = await kubectl("get", "hpa", "web");
    expect(got.stdout).toMatch(/web\s+Deployment\/web\s+cpu: <unknown>\/50%\s+1\s+5\s+0/);
  });

  it("lists both versions in discovery with v2 preferred, and refuses a bad v1 object naming the field", async () => {
    const group = JSON.parse((await kubectl("get", "--raw", "/apis/autoscaling")).stdout);
    expect(group.versions.map((v: { version: string }) => v.version)).toEqual(["v2", "v1"]);
    expect(group.preferredVersion.version).toBe("v2");
    // kubectl autoscale checks --min/--max itself; a manifest reaches the server unchecked.
    const file = join(dir, "bad.json");
    await writeFile(
      file,
      JSON.stringify({
        apiVersion: "autoscaling/v1",
        kind: "HorizontalPodAutoscaler",
        metadata: { name: "bad" },
        spec: {
          scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
          minReplicas: 4,
          maxReplicas: 2,
        },
      }),
    );
    const bad = await kubectl("create", "--validate=false", "-f", file);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(
      /spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`/,
    );
  });
});
