import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { resolveResourceName } from "../foundation/api/resources.js";
import { runKctl } from "./testing/run-kctl.js";
import { startTestCluster, type TestCluster } from "./testing/test-cluster.js";

const pods = resolveResourceName("pods")!;

describe("kctl label and annotate against a real apiserver and etcd", () => {
  let cluster: TestCluster;
  const kctl = (...argv: string[]) => runKctl(argv, { env: { KCTL_CONFIG: cluster.configPath } });
  const meta = async (name: string) => (await cluster.registry.get(pods, "default", name)).metadata;

  beforeAll(async () => {
    cluster = await startTestCluster();
  });
  beforeEach(async () => {
    for (const [name, labels] of [
      ["a", { app: "web", env: "prod" }],
      ["b", { app: "web" }],
      ["c", { app: "db" }],
    ] as const) {
      await cluster.registry.delete(pods, "default", name, { gracePeriodSeconds: 0 }).catch(() => undefined);
      await cluster.registry.create(
        pods,
        {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name, labels },
          spec: { containers: [{ name: "c", image: "busybox" }] },
        },
        { namespace: "default" },
      );
    }
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("sets, overwrites and removes labels of named objects", async () => {
    expect(await kctl("label", "pods", "a", "b", "tier=front")).toEqual({
      code: 0,
      stdout: "pod/a labeled\npod/b labeled\n",
      stderr: "",
    });
    expect((await meta("b")).labels).toEqual({ app: "web", tier: "front" });
    expect((await kctl("label", "pod/a", "env=dev", "--overwrite")).stdout).toBe("pod/a labeled\n");
    expect((await meta("a")).labels?.env).toBe("dev");
    expect((await kctl("label", "pod/a", "env-")).stdout).toBe("pod/a unlabeled\n");
    expect((await kctl("annotate", "pod/a", "example.com/team=x")).stdout).toBe("pod/a annotated\n");
    expect((await kctl("annotate", "pod", "a", "example.com/team-")).stdout).toBe("pod/a unannotated\n");
    expect((await kctl("label", "pod/a", "env-", "tier=front")).stdout).toBe("pod/a not labeled\n");
    expect((await meta("a")).labels).toEqual({ app: "web", tier: "front" });
  });

  it("annotates the objects a selector chooses", async () => {
    const r = await kctl("annotate", "pods", "-l", "app=web", "note=hello world");
    expect(r.stdout).toBe("pod/a annotated\npod/b annotated\n");
    expect((await meta("b")).annotations).toEqual({ note: "hello world" });
    expect((await meta("c")).annotations).toBeUndefined();
    expect((await kctl("annotate", "pods", "--all", "note-")).stdout).toBe(
      "pod/a unannotated\npod/b unannotated\npod/c not annotated\n",
    );
  });

  it("refuses a value already set without --overwrite, changing no object", async () => {
    const r = await kctl("label", "pods", "b", "a", "env=dev");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("error: pod/a: 'env' already has a value (prod), and --overwrite is false\n");
    expect(r.stdout).toBe("");
    expect((await meta("b")).labels).toEqual({ app: "web" });
  });

  it.each([
    [["pods", "a"], 2, "error: label: give at least one KEY=VALUE to set or KEY- to remove"],
    [["pods", "a", "=x"], 2, 'error: label: "=x" is not KEY=VALUE or KEY-'],
    [["pods", "a", "k=1", "k-"], 2, "error: label: k is given more than once"],
    [["pods", "x=1"], 2, "error: give names, -l SELECTOR or --all to say which objects to label"],
    [["pods", "a", "-l", "app=web", "x=1"], 2, "error: names cannot be combined with -l or --all"],
    [["pods", "nope", "x=1"], 1, 'Error from server (NotFound): Pod "nope" not found'],
    [["pods", "a", "bad key=1"], 1, 'metadata.labels: Invalid value: "bad key"'],
  ])("refuses %j naming the problem", async (args, code, message) => {
    const r = await kctl("label", ...args);
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(message);
    expect((await meta("a")).labels).toEqual({ app: "web", env: "prod" });
  });
});
