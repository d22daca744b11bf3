import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveResourceName } from "../foundation/api/resources.js";
import type { Deployment } from "../proto/gen/api.js";
import { runKctl } from "./testing/run-kctl.js";
import { startTestCluster, type TestCluster } from "./testing/test-cluster.js";

const deployments = resolveResourceName("deployments")!;

describe("kctl patch against a real apiserver and etcd", () => {
  let cluster: TestCluster;
  let dir: string;
  const kctl = (...argv: string[]) => runKctl(argv, { env: { KCTL_CONFIG: cluster.configPath }, cwd: dir });
  const web = async () => (await cluster.registry.get(deployments, "default", "web")) as Deployment;

  beforeAll(async () => {
    cluster = await startTestCluster();
    dir = await mkdtemp(join(tmpdir(), "kctl-patch-"));
    await cluster.registry.create(
      deployments,
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web", labels: { app: "web" } },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: {
              containers: [
                { name: "web", image: "web:1", ports: [{ containerPort: 80 }] },
                { name: "log", image: "log:1" },
              ],
            },
          },
        },
      },
      { namespace: "default" },
    );
  });
  afterAll(async () => {
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("merges a strategic patch's containers by name, keeping the rest", async () => {
    const r = await kctl(
      "patch",
      "deployment",
      "web",
      "-p",
      '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"web:2"}]}}}}',
    );
    expect(r).toMatchObject({ code: 0, stdout: "deployment.apps/web patched\n", stderr: "" });
    const containers = (await web()).spec?.template?.spec?.containers ?? [];
    expect(containers.map((c) => [c.name, c.image, c.ports?.[0]?.containerPort])).toEqual([
      ["web", "web:2", 80],
      ["log", "log:1", undefined],
    ]);
  });

  it("takes YAML, a JSON merge patch, KIND/NAME, a patch file and the scale subresource", async () => {
    const labelPatch = ["deploy/web", "--type", "merge", "-p", "metadata: {labels: {tier: back}}"];
    const merge = await kctl("patch", ...labelPatch);
    expect(merge.stdout).toBe("deployment.apps/web patched\n");
    expect((await web()).metadata?.labels).toEqual({ app: "web", tier: "back" });
    const again = await kctl("patch", ...labelPatch);
    expect(again.stdout).toBe("deployment.apps/web patched (no change)\n");

    await writeFile(join(dir, "scale.json"), '{"spec": {"replicas": 5}}');
    const scale = await kctl(
      "patch",
      "deploy",
      "web",
      "--subresource",
      "scale",
      "--patch-file",
      "scale.json",
    );
    expect(scale).toEqual({ code: 0, stdout: "deployment.apps/web patched\n", stderr: "" });
    expect((await web()).spec?.replicas).toBe(5);
  });

  it.each([
    [["deploy", "web"], 2, "error: patch: give the patch with -p PATCH or --patch-file FILE (one of them)"],
    [
      ["deploy", "web", "-p", "[1, 2]"],
      1,
      `error: -p: the patch must be an object, such as '{"spec":{"replicas":3}}'`,
    ],
    [["deploy", "web", "-p", "{spec: [}"], 1, "error: -p: not valid JSON or YAML:"],
    [["deploy", "web", "--patch-file", "nope.yaml"], 1, "error: --patch-file nope.yaml: no such file"],
    [
      ["deploy", "web", "--type", "json", "-p", "{}"],
      2,
      'error: invalid argument "json" for "--type" flag: must be one of: strategic, merge',
    ],
    [["deploy", "web", "api", "-p", "{}"], 2, "error: patch: name exactly one object"],
    [["deploy/nope", "-p", "{}"], 1, 'Error from server (NotFound): Deployment.apps "nope" not found'],
    [
      ["deploy", "web", "-p", '{"spec":{"replicas":-1}}'],
      1,
      "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
    ],
  ])("refuses %j naming the problem, changing nothing", async (args, code, message) => {
    const before = (await web()).metadata?.resourceVersion;
    const r = await kctl("patch", ...args);
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe("");
    expect((await web()).metadata?.resourceVersion).toBe(before);
  });
});
