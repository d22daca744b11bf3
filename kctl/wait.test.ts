import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { resolveResourceName } from "../foundation/api/resources.js";
import { runKctl } from "./testing/run-kctl.js";
import { startTestCluster, type TestCluster } from "./testing/test-cluster.js";

const pods = resolveResourceName("pods")!;

describe("kctl wait against a real apiserver and etcd", () => {
  let cluster: TestCluster;
  const kctl = (...argv: string[]) => runKctl(argv, { env: { KCTL_CONFIG: cluster.configPath } });
  const setReady = (name: string, status: "True" | "False") =>
    cluster.registry.patchStatus(pods, "default", name, {
      status: { conditions: [{ type: "Ready", status }] },
    });

  beforeAll(async () => {
    cluster = await startTestCluster();
  });
  beforeEach(async () => {
    for (const name of ["a", "b"]) {
      await cluster.registry.delete(pods, "default", name, { gracePeriodSeconds: 0 }).catch(() => undefined);
      await cluster.registry.create(
        pods,
        {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name, labels: { app: "web" } },
          spec: { containers: [{ name: "c", image: "busybox" }] },
        },
        { namespace: "default" },
      );
      await setReady(name, "False");
    }
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("returns once every chosen object has the condition", async () => {
    const waiting = kctl("wait", "pods", "-l", "app=web", "--for=condition=ready", "--timeout", "20s");
    await new Promise((r) => setTimeout(r, 300));
    await setReady("a", "True");
    await setReady("b", "True");
    expect(await waiting).toEqual({
      code: 0,
      stdout: "pod/a condition met\npod/b condition met\n",
      stderr: "",
    });
    const notReady = await kctl("wait", "pod/a", "--for", "condition=Ready=False", "--timeout", "0");
    expect(notReady.code).toBe(1);
  });

  it("does not take a condition reported for an older generation of the object", async () => {
    const deployments = resolveResourceName("deployments")!;
    await cluster.registry.create(
      deployments,
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web" },
        spec: {
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: { containers: [{ name: "c", image: "v1" }] },
          },
        },
      },
      { namespace: "default" },
    );
    await cluster.registry.patchStatus(deployments, "default", "web", {
      status: { observedGeneration: 1, conditions: [{ type: "Available", status: "True" }] },
    });
    expect((await kctl("wait", "deploy/web", "--for=condition=Available", "--timeout", "0")).code).toBe(0);
    expect((await kctl("set", "image", "deploy/web", "c=v2")).code).toBe(0);
    const stale = await kctl("wait", "deploy/web", "--for=condition=Available", "--timeout", "0");
    expect(stale.stderr).toBe("error: timed out waiting for the condition on deployments/web\n");
  });

  it("succeeds at once when --for=delete finds nothing left", async () => {
    expect(await kctl("wait", "pods", "-l", "app=none", "--for=delete")).toEqual({
      code: 0,
      stdout: "",
      stderr: "",
    });
  });

  it("returns once the object is gone with --for=delete", async () => {
    const waiting = kctl("wait", "pod/b", "--for=delete", "--timeout", "20s");
    await new Promise((r) => setTimeout(r, 300));
    // Deleted and made again under the same name between two looks: still the one waited for is gone.
    const again = await cluster.registry.get(pods, "default", "b");
    await cluster.registry.delete(pods, "default", "b", { gracePeriodSeconds: 0 });
    await cluster.registry.create(
      pods,
      { ...again, metadata: { name: "b", labels: again.metadata.labels } },
      { namespace: "default" },
    );
    expect(await waiting).toMatchObject({ code: 0, stdout: "pod/b condition met\n" });
  });

  it.each([
    [
      ["pod/a", "--for=condition=Ready", "--timeout", "300ms"],
      1,
      "error: timed out waiting for the condition on pods/a\n",
    ],
    [["pod/a"], 2, "error: wait: --for is required (condition=NAME[=VALUE] or delete)\n"],
    [["pod/a", "--for=ready"], 2, 'error: --for: expected condition=NAME[=VALUE] or delete, got "ready"\n'],
    [
      ["pod/a", "--for=delete", "--timeout", "soon"],
      1,
      'error: --timeout: "soon" is not a duration like 90s, 5m or 1h\n',
    ],
    [
      ["pods", "--for=delete"],
      2,
      "error: give names, -l SELECTOR or --all to say which objects to wait for\n",
    ],
    [["pods", "-l", "app=none", "--for=condition=Ready"], 1, "error: no matching resources found\n"],
    [["pod/nope", "--for=condition=Ready"], 1, 'Error from server (NotFound): Pod "nope" not found\n'],
  ])("refuses %j naming the problem", async (args, code, first) => {
    const r = await kctl("wait", ...args);
    expect(r.code).toBe(code);
    expect(r.stderr.startsWith(first)).toBe(true);
    expect(r.stdout).toBe("");
  });
});
