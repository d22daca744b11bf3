/**
 * Resource metrics and the HorizontalPodAutoscaler on a two-host lab: the agents' usage reaches
 * `kubectl top pod|node` (and `kctl top`); a Deployment whose pods request 100m CPU, under an HPA
 * targeting 50%, scales up while one of its pods burns CPU (a busy loop started with `kctl exec`)
 * and back down once the loop ends (the test's HPA shortens the scale-down window through its
 * `behavior`; the defaults stay). Bad HPAs are refused naming the field.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downLab, eventually, isRoot, type LabCluster, startLabCluster } from "./support/lab-cluster.js";

const kubectlPath = "/usr/bin/kubectl";

const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: kctl.local/busybox:debian
        command: ["sh", "-c", "exec sleep 3600"]
        resources:
          requests: {cpu: 100m, memory: 16Mi}
`;

const hpa = `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
  namespace: default
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: Resource
    resource:
      name: cpu
      target: {type: Utilization, averageUtilization: 50}
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 15
`;

describe.skipIf(!isRoot)("metrics and the HorizontalPodAutoscaler on a lab", () => {
  let lab: LabCluster;
  let home: string;

  const kubectl = (...args: string[]) =>
    new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
      execFile(
        kubectlPath,
        ["--kubeconfig", lab.config, ...args],
        { env: { ...process.env, HOME: home }, timeout: 60_000 },
        (err, stdout, stderr) =>
          resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 }),
      );
    });

  const replicas = async () => {
    const out = await lab.kctl("get", "deployment", "web", "-o", "jsonpath={.spec.replicas}");
    return Number(out.stdout.trim());
  };

  /** The Running web pods (kctl get has no --field-selector; the phase is read from JSON). */
  const webPods = async () => {
    const out = await lab.kctl("get", "pods", "-l", "app=web", "-o", "json");
    const list = JSON.parse(out.stdout || "{}") as {
      items?: { metadata: { name: string; deletionTimestamp?: string }; status?: { phase?: string } }[];
    };
    return (list.items ?? [])
      .filter((p) => p.status?.phase === "Running" && !p.metadata.deletionTimestamp)
      .map((p) => p.metadata.name);
  };

  /** kctl apply of a manifest file (lab.kctl's 60 s timeout, for a slow shared machine). */
  const apply = async (name: string, yaml: string) => {
    const file = join(home, `${name}.yaml`);
    await writeFile(file, yaml);
    return lab.kctl("apply", "-f", file);
  };

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), "kctl-e2e-hpa-"));
    lab = await startLabCluster("hpa", 2);
  }, 180_000);
  afterAll(downLab(() => lab));
  afterAll(async () => {
    if (home) await rm(home, { recursive: true, force: true });
  });

  it("shows pods' and nodes' usage in kubectl top and kctl top", async () => {
    expect((await apply("deployment", deployment)).code).toBe(0);
    const [pod] = await eventually("a running web pod", async () => {
      const pods = await webPods();
      return pods.length === 1 ? pods : undefined;
    });
    // Two reports (15 s apart) make the first rate.
    const row = new RegExp(`^${pod}\\s+\\d+m\\s+\\d+Mi\\s*$`, "m");
    const top = await eventually(
      "kctl top pod shows the web pod",
      async () => {
        const out = await lab.kctl("top", "pod");
        return row.test(out.stdout) ? out.stdout : undefined;
      },
      90_000,
    );
    expect(top).toMatch(/^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)/);
    const nodes = await eventually(
      "kctl top node shows both hosts",
      async () => {
        const out = await lab.kctl("top", "node");
        const rows = out.stdout.split("\n").filter((l) => /\d+m\s+\d+%\s+\d+Mi\s+\d+%/.test(l));
        return rows.length === 2 ? out.stdout : undefined;
      },
      90_000,
    );
    expect(nodes).toMatch(/^NAME\s+CPU\(cores\)\s+CPU\(%\)\s+MEMORY\(bytes\)\s+MEMORY\(%\)/);
    if (existsSync(kubectlPath)) {
      const kpod = await kubectl("top", "pod", "-n", "default");
      expect(kpod.stderr).toBe("");
      expect(kpod.stdout).toMatch(row);
      const knode = await kubectl("top", "node");
      expect(knode.stdout.split("\n").filter((l) => /\d+m\s+\d+%\s+\d+Mi\s+\d+%/.test(l))).toHaveLength(2);
      const resources = await kubectl("api-resources", "--api-group=metrics.k8s.io");
      expect(resources.stdout).toMatch(/PodMetrics/);
    }
  }, 240_000);

  it("scales the Deployment up under CPU load and back down after it", async () => {
    const applied = await apply("hpa", hpa);
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    const [pod] = await webPods();
    // The loop ends by itself once /tmp/stop exists.
    const start = await lab.kctl(
      "exec",
      pod!,
      "--",
      "sh",
      "-c",
      "rm -f /tmp/stop; (while [ ! -e /tmp/stop ]; do :; done) >/dev/null 2>&1 &",
    );
    expect(start.code).toBe(0);
    const up = await eventually(
      "the HPA scales web up",
      async () => {
        const n = await replicas();
        return n > 1 ? n : undefined;
      },
      150_000,
    );
    expect(up).toBeGreaterThan(1);
    expect(up).toBeLessThanOrEqual(3);
    const get = await lab.kctl("get", "hpa", "web");
    expect(get.stdout).toMatch(/^NAME\s+REFERENCE\s+TARGETS\s+MINPODS\s+MAXPODS\s+REPLICAS\s+AGE/);
    expect(get.stdout).toMatch(/web\s+Deployment\/web\s+cpu: \d+%\/50%\s+1\s+3\s+\d/);
    const described = await lab.kctl("describe", "hpa", "web");
    expect(described.stdout).toMatch(
      /SuccessfulRescale\s.*New size: \d; reason: cpu resource utilization \(percentage of request\) above target/,
    );
    expect(described.stdout).toMatch(/AbleToScale\s+True/);

    expect((await lab.kctl("exec", pod!, "--", "touch", "/tmp/stop")).code).toBe(0);
    await eventually(
      "the HPA scales web back down to 1",
      async () => ((await replicas()) === 1 ? true : undefined),
      180_000,
    );
    const after = await lab.kctl("describe", "hpa", "web");
    expect(after.stdout).toMatch(/New size: 1; reason: All metrics below target/);
  }, 420_000);

  it.skipIf(!existsSync(kubectlPath))(
    "creates an HPA with kubectl autoscale (autoscaling/v1)",
    async () => {
      const api = deployment.replaceAll("web", "api");
      expect((await apply("api", api)).code).toBe(0);
      const out = await kubectl(
        "autoscale",
        "-n",
        "default",
        "deployment",
        "api",
        "--cpu-percent=50",
        "--min=1",
        "--max=5",
      );
      expect(out.stderr).toBe("");
      expect(out.stdout).toMatch(/horizontalpodautoscaler.autoscaling\/api autoscaled/);
      const get = await lab.kctl("get", "hpa", "api");
      expect(get.stdout).toMatch(/api\s+Deployment\/api\s+cpu: \S+\/50%\s+1\s+5\s/);
      expect((await lab.kctl("delete", "hpa", "api")).code).toBe(0);
      expect((await lab.kctl("delete", "deployment", "api")).code).toBe(0);
    },
    120_000,
  );

  it("refuses an HPA whose minReplicas exceeds maxReplicas, or whose metric type is unknown, naming the field", async () => {
    const bounds = await apply(
      "bounds",
      hpa
        .replace("name: web\n  namespace", "name: bounds\n  namespace")
        .replace("minReplicas: 1", "minReplicas: 5"),
    );
    expect(bounds.code).not.toBe(0);
    expect(bounds.stderr).toMatch(
      /spec\.maxReplicas: Invalid value: 3: must be greater than or equal to `minReplicas`/,
    );
    const unknown = await apply(
      "unknown",
      hpa
        .replace("name: web\n  namespace", "name: unknown\n  namespace")
        .replace("- type: Resource", "- type: Cheese"),
    );
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/spec\.metrics\[0\]\.type: Unsupported value: "Cheese"/);
    const listed = await lab.kctl("get", "hpa", "-o", "name");
    expect(listed.stdout).not.toMatch(/bounds|unknown/);
  }, 60_000);
});
