/**
 * Stock kubectl (/usr/bin/kubectl) against a one-host lab, with the lab's admin kubeconfig: the
 * rows of the apiserver README's kubectl table that need real controllers and containers — apply
 * with validation, server-side apply and its conflict, rollout undo after a real rollout, typed
 * create (protobuf), exec with stdin and exit codes, cp both ways, foreground cascading delete.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downLab, eventually, isRoot, type LabCluster, startLabCluster } from "./support/lab-cluster.js";

const kubectlPath = "/usr/bin/kubectl";
if (!existsSync(kubectlPath)) console.warn(`e2e/kubectl: skipped, ${kubectlPath} is missing`);

describe.skipIf(!isRoot || !existsSync(kubectlPath))("stock kubectl on a lab", () => {
  let lab: LabCluster;
  let dir: string;

  const kubectl = (args: string[], input?: string) =>
    new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
      const child = execFile(
        kubectlPath,
        ["--kubeconfig", lab.config, "-n", "default", ...args],
        { env: { ...process.env, HOME: dir }, timeout: 60_000 },
        (err, stdout, stderr) =>
          resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 }),
      );
      child.stdin!.end(input ?? "");
    });

  const file = async (name: string, obj: unknown) => {
    const path = join(dir, name);
    await writeFile(path, JSON.stringify(obj));
    return path;
  };

  const web = (image: string) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web" },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: "main", image, command: ["sh", "-c", "mkdir -p /work; exec sleep 3600"] }],
        },
      },
    },
  });

  const runningPod = () =>
    eventually("a running web pod", async () => {
      const out = await kubectl([
        "get",
        "pods",
        "-l",
        "app=web",
        "--field-selector=status.phase=Running",
        "-o",
        "jsonpath={.items[*].metadata.name}",
      ]);
      const names = out.stdout.trim().split(/\s+/).filter(Boolean);
      return names.length === 1 ? names[0] : undefined;
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kctl-e2e-kubectl-"));
    lab = await startLabCluster("kc", 1);
  });
  afterAll(downLab(() => lab));
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("applies with default validation, refuses an unknown field by name, and runs the pod", async () => {
    const applied = await kubectl(["apply", "-f", await file("web.json", web("kctl.local/busybox:debian"))]);
    expect(applied.stderr).toBe("");
    const bad = web("kctl.local/busybox:debian") as { spec: Record<string, unknown> };
    bad.spec.replicaz = 2;
    const refused = await kubectl(["apply", "-f", await file("bad.json", bad)]);
    expect(refused.stderr).toMatch(/unknown field "spec.replicaz"/);
    await runningPod();
  });

  it("execs with stdout, stderr, stdin and the exit code, and copies files in and out", async () => {
    const pod = await runningPod();
    const run = await kubectl(["exec", pod, "--", "sh", "-c", "echo out; echo err >&2; exit 4"]);
    expect([run.stdout, run.code]).toEqual(["out\n", 4]);
    expect(run.stderr).toContain("err");
    const piped = await kubectl(["exec", "-i", pod, "--", "sh", "-c", "tr a-z A-Z"], "hello\n");
    expect(piped.stdout).toBe("HELLO\n");
    const local = join(dir, "in.txt");
    await writeFile(local, "payload\n".repeat(5000));
    expect((await kubectl(["cp", local, `${pod}:/work/in.txt`])).stderr).toBe("");
    expect((await kubectl(["exec", pod, "--", "wc", "-c", "/work/in.txt"])).stdout).toMatch(/^40000 /);
    const back = join(dir, "back.txt");
    expect((await kubectl(["cp", `${pod}:/work/in.txt`, back])).code).toBe(0);
    expect(await readFile(back, "utf8")).toBe("payload\n".repeat(5000));
  });

  it("rolls out a new image and undoes it with JSON Patch", async () => {
    expect((await kubectl(["set", "image", "deployment/web", "main=kctl.local/busybox:v2"])).code).toBe(0);
    await eventually("revision 2", async () => {
      const out = await kubectl(["rollout", "history", "deployment/web"]);
      return /\n2\s/.test(out.stdout) ? true : undefined;
    });
    const undo = await kubectl(["rollout", "undo", "deployment/web"]);
    expect(undo.stderr).toBe("");
    const image = await kubectl([
      "get",
      "deploy",
      "web",
      "-o",
      "jsonpath={.spec.template.spec.containers[0].image}",
    ]);
    expect(image.stdout).toBe("kctl.local/busybox:debian");
  });

  it("applies server-side, reports a conflict, forces it", async () => {
    const cfg = web("kctl.local/busybox:debian");
    const first = await kubectl([
      "apply",
      "--server-side",
      "--force-conflicts",
      "-f",
      await file("ssa.json", cfg),
    ]);
    expect(first.stdout).toMatch(/serverside-applied/);
    const other = { ...cfg, spec: { ...cfg.spec, replicas: 2 } };
    const conflict = await kubectl([
      "apply",
      "--server-side",
      "--field-manager=ci",
      "-f",
      await file("ci.json", other),
    ]);
    expect(conflict.stderr).toMatch(/conflict with "kubectl": \.spec\.replicas/);
    const forced = await kubectl([
      "apply",
      "--server-side",
      "--field-manager=ci",
      "--force-conflicts",
      "-f",
      await file("ci.json", other),
    ]);
    expect(forced.code).toBe(0);
    expect((await kubectl(["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"])).stdout).toBe("2");
  });

  it("creates typed objects (protobuf) and deletes with foreground cascading", async () => {
    expect(
      (
        await kubectl([
          "create",
          "deployment",
          "typed",
          "--image=kctl.local/busybox:debian",
          "--",
          "sleep",
          "3600",
        ])
      ).stderr,
    ).toBe("");
    expect((await kubectl(["expose", "deployment", "typed", "--port=80"])).stderr).toBe("");
    const del = await kubectl(["delete", "deployment", "web", "--cascade=foreground"]);
    expect(del.stdout).toMatch(/deployment.apps "web" deleted/);
    await eventually("web's ReplicaSets gone", async () => {
      const out = await kubectl(["get", "rs", "-l", "app=web", "-o", "name"]);
      return out.stdout.trim() === "" ? true : undefined;
    });
  });
});
