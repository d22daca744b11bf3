/**
 * Pods for real on a two-host lab: the node agents run them through the kshim runtime in their own
 * network namespaces; kctl talks to the control plane as a user would. Every pod is created up
 * front so the slow checks (crash-loop backoff, liveness) wait in parallel.
 */
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_METRICS_PORT } from "../kctl/lab/components.js";
import { downLab, eventually, isRoot, type LabCluster, startLabCluster } from "./support/lab-cluster.js";

interface PodJson {
  metadata: { name: string; uid: string };
  spec: { nodeName?: string };
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: {
      name: string;
      restartCount: number;
      ready: boolean;
      state: {
        waiting?: { reason: string; message?: string };
        running?: object;
        terminated?: { reason: string; exitCode: number };
      };
      lastState: { terminated?: { reason: string; exitCode: number } };
    }[];
  };
}

const pod = (name: string, spec: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: e2e
spec:
${spec}`;

const manifests = [
  "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: e2e\n",
  pod(
    "web",
    `  terminationGracePeriodSeconds: 2
  containers:
  - name: httpd
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "echo $(POD_NAME) > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"]
    env:
    - name: POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    ports: [{name: http, containerPort: 8080}]
    readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 1}
`,
  ),
  pod(
    "pair",
    `  containers:
  - name: server
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "echo from-server > /tmp/i.html; exec httpd -f -p 8080 -h /tmp"]
  - name: client
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "while true; do wget -q -O- http://127.0.0.1:8080/i.html; sleep 1; done"]
`,
  ),
  pod(
    "crasher",
    `  containers:
  - name: main
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "echo crashing; exit 3"]
`,
  ),
  pod(
    "hog",
    `  restartPolicy: Never
  containers:
  - name: main
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "x=$(head -c 134217728 /dev/zero | tr '\\\\0' x); sleep 1000"]
    resources: {limits: {memory: 32Mi}}
`,
  ),
  pod(
    "unhealthy",
    `  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "touch /tmp/ok; sleep 2; rm /tmp/ok; exec sleep 1000"]
    livenessProbe: {exec: {command: [test, -f, /tmp/ok]}, periodSeconds: 1, failureThreshold: 2}
`,
  ),
  pod(
    "noimage",
    `  containers:
  - name: main
    image: example.invalid/nothing:1.0
    imagePullPolicy: Never
`,
  ),
].join("---\n");

// The hooks write where the test can read them: a hostPath inside the lab's own directory.
const hookPods = (dir: string) =>
  [
    pod(
      "hooks",
      `  terminationGracePeriodSeconds: 5
  volumes: [{name: out, hostPath: {path: ${dir}, type: DirectoryOrCreate}}]
  containers:
  - name: main
    image: kctl.local/busybox:debian
    command: ["sleep", "1000"]
    volumeMounts: [{name: out, mountPath: /out}]
    lifecycle:
      postStart: {exec: {command: ["sh", "-c", "echo started > /out/post-start"]}}
      preStop: {exec: {command: ["sh", "-c", "echo stopping > /out/pre-stop"]}}
`,
    ),
    pod(
      "badhook",
      `  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: kctl.local/busybox:debian
    command: ["sleep", "1000"]
    lifecycle:
      postStart: {exec: {command: ["false"]}}
`,
    ),
  ].join("---\n");

describe.skipIf(!isRoot)("pods on real nodes", () => {
  let lab: LabCluster;
  const get = async (name: string): Promise<PodJson> => {
    const res = await lab.kctl("get", "pod", name, "-n", "e2e", "-o", "json");
    if (res.code !== 0) throw new Error(res.stderr);
    return JSON.parse(res.stdout) as PodJson;
  };
  const container = (p: PodJson, name = "main") => p.status?.containerStatuses?.find((c) => c.name === name);

  beforeAll(async () => {
    lab = await startLabCluster("pods", 2);
    const res = await lab.apply(`${manifests}---\n${hookPods(join(lab.state.labDir, "hooks"))}`);
    expect(res.stderr).toBe("");
  });
  afterAll(downLab(() => lab));

  it("runs a pod to Running and Ready with an IP from its node's pod CIDR, reachable from its host", async () => {
    const web = await eventually("web ready", async () => {
      const p = await get("web");
      return p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ? p : undefined;
    });
    expect(web.status?.phase).toBe("Running");
    expect(web.status?.podIP).toMatch(/^10\.244\.\d+\.\d+$/);
    const answer = await lab.httpGet(web.spec.nodeName!, `http://${web.status!.podIP}:8080/`);
    expect(answer.stdout.trim()).toBe("web");
  });

  it("measures pod start latency and container starts in the agent's metrics", async () => {
    const node = (await get("web")).spec.nodeName!;
    const res = await lab.onNode(
      node,
      "sh",
      "-c",
      `printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' | timeout 3 busybox nc 127.0.0.1 ${AGENT_METRICS_PORT}`,
    );
    expect(res.stdout).toMatch(/kctl_pod_start_duration_seconds_count\{to="running"\} [1-9]/);
    expect(res.stdout).toMatch(/kctl_container_starts_total\{kind="regular"\} [1-9]/);
  });

  it("lets two containers of a pod talk over localhost, and shows it in kctl logs", async () => {
    const logs = await eventually("client log", async () => {
      const res = await lab.kctl("logs", "pair", "-c", "client", "-n", "e2e", "--tail", "1");
      return res.stdout.includes("from-server") ? res.stdout : undefined;
    });
    expect(logs.trim()).toBe("from-server");
  });

  it("runs commands with kctl exec: output, stdin and exit code", async () => {
    const res = await lab.kctl(
      "exec",
      "web",
      "-n",
      "e2e",
      "--",
      "sh",
      "-c",
      "hostname; cat /tmp/index.html; exit 7",
    );
    expect(res.code).toBe(7);
    expect(res.stdout).toBe("web\nweb\n");
    const missing = await lab.kctl("exec", "nosuch", "-n", "e2e", "--", "true");
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('"nosuch" not found');
  });

  it("restarts a crashing container with growing back-off", async () => {
    const p = await eventually(
      "crash loop",
      async () => {
        const c = container(await get("crasher"));
        return c && c.restartCount >= 2 && c.state.waiting?.reason === "CrashLoopBackOff" ? c : undefined;
      },
      45_000,
    );
    expect(p.lastState.terminated).toMatchObject({ reason: "Error", exitCode: 3 });
    const previous = await lab.kctl("logs", "crasher", "-n", "e2e", "--previous");
    expect(previous.stdout).toBe("crashing\n");
  });

  it("reports a container killed for memory as OOMKilled", async () => {
    const c = await eventually("OOM", async () => {
      const s = container(await get("hog"));
      return s?.state.terminated ? s : undefined;
    });
    expect(c.state.terminated?.reason).toBe("OOMKilled");
  });

  it("restarts a container whose liveness probe fails", async () => {
    const c = await eventually("liveness restart", async () => {
      const s = container(await get("unhealthy"));
      return s && s.restartCount >= 1 ? s : undefined;
    });
    expect(c.restartCount).toBeGreaterThanOrEqual(1);
    const events = await lab.kctl("describe", "pod", "unhealthy", "-n", "e2e");
    expect(events.stdout).toMatch(/Liveness probe failed/);
  });

  it("runs postStart after the container starts and preStop before it stops", async () => {
    const out = join(lab.state.labDir, "hooks");
    await eventually("postStart output", async () =>
      existsSync(join(out, "post-start")) ? true : undefined,
    );
    expect(await readFile(join(out, "post-start"), "utf8")).toBe("started\n");
    expect(existsSync(join(out, "pre-stop"))).toBe(false);
    expect((await lab.kctl("delete", "pod", "hooks", "-n", "e2e")).code).toBe(0);
    await eventually("hooks gone", async () =>
      (await lab.kctl("get", "pod", "hooks", "-n", "e2e")).code !== 0 ? true : undefined,
    );
    expect(await readFile(join(out, "pre-stop"), "utf8")).toBe("stopping\n");
  });

  it("kills and restarts a container whose postStart hook fails", async () => {
    await eventually("restart after a failed hook", async () => {
      const s = container(await get("badhook"));
      return s && s.restartCount >= 1 ? s : undefined;
    });
    const described = await lab.kctl("describe", "pod", "badhook", "-n", "e2e");
    expect(described.stdout).toMatch(/FailedPostStartHook/);
    expect(described.stdout).toMatch(/PostStartHook failed: command exited with 1/);
  });

  it("gives a pod whose image is missing a clear waiting reason", async () => {
    const c = await eventually("image reason", async () => {
      const s = container(await get("noimage"));
      return s?.state.waiting?.reason === "ErrImageNeverPull" ? s : undefined;
    });
    expect(c.state.waiting?.message).toContain("example.invalid/nothing:1.0");
  });

  it("keeps containers running when their agent is killed with -9, and the new agent adopts them", async () => {
    const before = await get("pair");
    const node = before.spec.nodeName!;
    const runtime = join(lab.state.labDir, "state", node, "runtime");
    const pids = async () => {
      const ids = (await readdir(runtime)).filter((id) => id.startsWith(before.metadata.uid)).sort();
      return Promise.all(
        ids.map(
          async (id) =>
            (JSON.parse(await readFile(join(runtime, id, "shim.json"), "utf8")) as { pid: number }).pid,
        ),
      );
    };
    const pidsBefore = await pids();
    expect(pidsBefore).toHaveLength(2);
    await lab.crashAndRestart(node);
    await eventually("status from the new agent", async () => {
      const logs = await lab.kctl("exec", "pair", "-n", "e2e", "-c", "server", "--", "true");
      return logs.code === 0 ? true : undefined;
    });
    expect(await pids()).toEqual(pidsBefore);
    const after = await get("pair");
    expect(after.status?.containerStatuses?.map((c) => c.restartCount)).toEqual([0, 0]);
    expect(after.status?.phase).toBe("Running");
  });

  it("deletes a pod gracefully: Terminating, then gone with its sandbox and containers", async () => {
    const before = await get("web");
    const node = before.spec.nodeName!;
    const podCgroups = lab.state.processes
      .find((p) => p.name === node)!
      .cgroups.map((dir) => join(dir, `kctl-${node}`, `pod${before.metadata.uid}`));
    expect(podCgroups.filter((dir) => existsSync(dir)).length).toBeGreaterThan(0);
    const del = await lab.kctl("delete", "pod", "web", "-n", "e2e");
    expect(del.code).toBe(0);
    await eventually("web gone", async () =>
      (await lab.kctl("get", "pod", "web", "-n", "e2e")).code !== 0 ? true : undefined,
    );
    const nodeState = join(lab.state.labDir, "state", node);
    expect(existsSync(join(nodeState, "netns", before.metadata.uid))).toBe(false);
    expect(
      (await readdir(join(nodeState, "runtime"))).filter((id) => id.startsWith(before.metadata.uid)),
    ).toEqual([]);
    expect(podCgroups.filter((dir) => existsSync(dir))).toEqual([]);
  });
});
