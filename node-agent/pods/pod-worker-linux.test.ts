/**
 * Root test: pod workers run real pods — the shim (and runc once, for comparison), a sandbox from
 * the network module inside a throwaway host namespace, rootfs from the image store with the busybox
 * image. ConfigMaps and Secrets come from a fixed lookup (the control plane's side of that interface
 * is the integrator's). Every worker is terminated and the node fixture removed, even on failure.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { EventRecorder } from "../../controlplane/controllers/events.js";
import type { ConfigMap, Container, Pod, PodStatus, Secret } from "../../proto/gen/api.js";
import { mountsBeneath } from "../network/testing/scratch-linux.js";
import type { OciRuntimeDriver } from "../runtime/shim/index.js";
import { KSHIM, makeNodeFixture, type NodeFixture } from "../runtime/shim/testing/node-fixture-linux.js";
import type { ObjectLookup } from "./object-lookup.js";
import { PodWorker } from "./pod-worker.js";
import { netnsDialer } from "./probe-dialer.js";

const isRoot = process.getuid?.() === 0;

interface Recorded {
  type: string;
  reason: string;
  message: string;
}

const configMaps: Record<string, ConfigMap> = {
  "special-config": {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "special-config", namespace: "default" },
    data: { "special.how": "very", "log.level": "debug" },
  },
};
const secrets: Record<string, Secret> = {
  creds: {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "creds", namespace: "default" },
    data: { password: Buffer.from("s3cret").toString("base64") },
  },
};
const lookup: ObjectLookup = {
  configMap: async (_ns, name) => configMaps[name],
  secret: async (_ns, name) => secrets[name],
};

let uidSeq = 0;
function pod(name: string, spec: Pod["spec"]): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}-${process.pid}-${uidSeq++}`,
      labels: { app: name },
    },
    spec: { nodeName: "node-1", terminationGracePeriodSeconds: 2, ...spec },
  };
}

function busybox(name: string, command: string, extra: Partial<Container> = {}): Container {
  return { name, image: "busybox", command: ["sh", "-c", command], ...extra };
}

describe.skipIf(!isRoot)("pod worker (root)", () => {
  let node: NodeFixture;
  let kshim: OciRuntimeDriver;
  const workers: PodWorker[] = [];

  beforeAll(async () => {
    node = await makeNodeFixture("pods", "10.244.9.0/24");
    kshim = node.driver(KSHIM);
  });
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.terminate(0).catch(() => undefined);
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  function run(p: Pod, driver = kshim) {
    const statuses: PodStatus[] = [];
    const events: Recorded[] = [];
    const recorder: EventRecorder = {
      event: (_o, type, reason, message) => events.push({ type, reason, message }),
    };
    const worker = new PodWorker(p, {
      nodeName: "node-1",
      hostIP: "10.0.0.1",
      stateDir: node.stateDir,
      images: node.images,
      network: node.network,
      runtime: driver,
      cgroupParent: node.cgroupParent,
      lookup,
      reportStatus: (_p, s) => statuses.push(structuredClone(s)),
      events: recorder,
      backoff: { baseMs: 300, maxMs: 1200, resetAfterMs: 600_000 },
      dialer: netnsDialer(node.hostNetns),
      pollIntervalMs: 50,
      resyncMs: 500,
    });
    workers.push(worker);
    worker.start();
    const until = async (what: string, ok: (s: PodStatus) => boolean, ms = 20_000): Promise<PodStatus> => {
      const deadline = Date.now() + ms;
      for (;;) {
        const s = worker.currentStatus;
        if (s !== undefined && ok(s)) return s;
        if (Date.now() > deadline) throw new Error(`${what}: timed out; last status ${JSON.stringify(s)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    return { worker, statuses, events, until };
  }

  const ready = (s: PodStatus) => s.conditions?.find((c) => c.type === "Ready")?.status === "True";
  const cs = (s: PodStatus, name: string) => s.containerStatuses!.find((c) => c.name === name)!;

  for (const runtime of ["kshim", "runc"]) {
    it(`${runtime}: a pod reaches Running and Ready; its containers reach each other on localhost`, async () => {
      const driver = runtime === "kshim" ? kshim : node.driver("runc");
      const p = pod(`web-${runtime}`, {
        containers: [
          busybox(
            "web",
            "mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 8080 -h /www",
            {
              ports: [{ name: "http", containerPort: 8080 }],
              readinessProbe: { httpGet: { path: "/index.html", port: "http" }, periodSeconds: 1 },
            },
          ),
          busybox(
            "client",
            "until wget -q -O /tmp/got http://localhost:8080/index.html; do sleep 0.1; done; exec sleep 600",
            {
              readinessProbe: { exec: { command: ["cat", "/tmp/got"] }, periodSeconds: 1 },
            },
          ),
        ],
      });
      const t0 = Date.now();
      const { worker, until, events } = run(p, driver);
      const running = await until("Running", (s) => s.phase === "Running");
      const tRunning = Date.now() - t0;
      const s = await until("Ready", ready);
      const tReady = Date.now() - t0;
      console.log(`${runtime}: pod start to Running ${tRunning} ms, to Ready ${tReady} ms`);
      expect(running.podIP).toMatch(/^10\.244\.9\.\d+$/);
      expect(s.hostIP).toBe("10.0.0.1");
      expect(s.conditions!.map((c) => `${c.type}=${c.status}`)).toEqual([
        "PodScheduled=True",
        "Initialized=True",
        "ContainersReady=True",
        "Ready=True",
      ]);
      expect(cs(s, "web")).toMatchObject({ ready: true, started: true, restartCount: 0, image: "busybox" });
      expect(cs(s, "web").containerID).toMatch(new RegExp(`^${runtime}://`));
      const id = cs(s, "client").containerID!.split("://")[1]!;
      expect((await driver.exec(id, ["cat", "/tmp/got"], 5000)).stdout).toBe("hello-from-web\n");
      expect((await driver.exec(id, ["hostname"], 5000)).stdout).toBe(`web-${runtime}\n`);
      expect(events.map((e) => e.reason)).toEqual(expect.arrayContaining(["Pulled", "Created", "Started"]));
      await worker.terminate();
    });
  }

  it("a crashing container backs off and its restart count grows", async () => {
    const { until, events } = run(pod("crash", { containers: [busybox("crash", "echo dying; exit 1")] }));
    const s = await until("3 restarts", (s) => (cs(s, "crash").restartCount ?? 0) >= 3);
    expect(cs(s, "crash").lastState?.terminated).toMatchObject({ exitCode: 1, reason: "Error" });
    await until("CrashLoopBackOff", (s) => cs(s, "crash").state?.waiting?.reason === "CrashLoopBackOff");
    expect(s.phase).toBe("Running");
    expect(events.some((e) => e.reason === "BackOff")).toBe(true);
  });

  it("a memory hog is OOMKilled", async () => {
    const { until } = run(
      pod("hog", {
        restartPolicy: "Never",
        containers: [
          busybox("hog", "x=a; while true; do x=$x$x; done", { resources: { limits: { memory: "16Mi" } } }),
        ],
      }),
    );
    const s = await until("Failed", (s) => s.phase === "Failed");
    expect(cs(s, "hog").state?.terminated).toMatchObject({ reason: "OOMKilled", exitCode: 137 });
  });

  it("a failing liveness probe restarts the container", async () => {
    const { until, events } = run(
      pod("live", {
        containers: [
          busybox("live", "touch /tmp/healthy; sleep 1; rm /tmp/healthy; exec sleep 600", {
            livenessProbe: {
              exec: { command: ["cat", "/tmp/healthy"] },
              periodSeconds: 1,
              failureThreshold: 1,
            },
          }),
        ],
      }),
    );
    const s = await until("restarted", (s) => (cs(s, "live").restartCount ?? 0) >= 1, 30_000);
    expect(cs(s, "live").lastState?.terminated?.exitCode).toBeGreaterThan(128);
    expect(
      events.some((e) => e.reason === "Unhealthy" && e.message.startsWith("Liveness probe failed")),
    ).toBe(true);
    expect(events.some((e) => e.reason === "Killing" && /failed liveness probe/.test(e.message))).toBe(true);
  });

  it("env from a ConfigMap, a Secret, envFrom with prefix, fieldRef and $(VAR) expansion", async () => {
    const { until } = run(
      pod("envs", {
        containers: [
          busybox("env", "", {
            command: ["sh", "-c", 'echo "$0 $1 $2" > /tmp/args; exec sleep 600'],
            args: ["$(GREETING)", "$$(not-expanded)", "$(UNKNOWN)"],
            envFrom: [{ configMapRef: { name: "special-config" }, prefix: "CFG_" }],
            env: [
              {
                name: "SPECIAL_LEVEL",
                valueFrom: { configMapKeyRef: { name: "special-config", key: "special.how" } },
              },
              { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "creds", key: "password" } } },
              { name: "MISSING", valueFrom: { secretKeyRef: { name: "nope", key: "x", optional: true } } },
              { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
              { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
              { name: "APP", valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
              { name: "GREETING", value: "hi-$(POD_NAME)" },
            ],
          }),
        ],
      }),
    );
    const s = await until("Running", (s) => s.phase === "Running");
    const id = cs(s, "env").containerID!.split("://")[1]!;
    const env = (await kshim.exec(id, ["env"], 5000)).stdout;
    expect(env).toContain("SPECIAL_LEVEL=very\n");
    expect(env).toContain("CFG_log.level=debug\n");
    expect(env).toContain("PASSWORD=s3cret\n");
    expect(env).toContain("POD_NAME=envs\n");
    expect(env).toContain(`POD_IP=${s.podIP}\n`);
    expect(env).toContain("APP=envs\n");
    expect(env).toContain("GREETING=hi-envs\n");
    expect(env).not.toContain("MISSING=");
    expect((await kshim.exec(id, ["cat", "/tmp/args"], 5000)).stdout).toBe(
      "hi-envs $(not-expanded) $(UNKNOWN)\n",
    );
  });

  it("a missing ConfigMap holds the container with CreateContainerConfigError", async () => {
    const { until, events } = run(
      pod("nocm", {
        containers: [
          busybox("c", "sleep 600", {
            env: [{ name: "X", valueFrom: { configMapKeyRef: { name: "absent", key: "k" } } }],
          }),
        ],
      }),
    );
    const s = await until(
      "waiting",
      (s) => cs(s, "c").state?.waiting?.reason === "CreateContainerConfigError",
    );
    expect(cs(s, "c").state?.waiting?.message).toBe(
      'spec.containers[0].env[0].valueFrom.configMapKeyRef: configmap "absent" not found',
    );
    expect(s.phase).toBe("Pending");
    expect(events.some((e) => e.reason === "Failed" && e.type === "Warning")).toBe(true);
  });

  it("init containers run first; containers share an emptyDir; restartPolicy Never completes as Succeeded", async () => {
    const { until, statuses } = run(
      pod("shared", {
        restartPolicy: "Never",
        volumes: [
          { name: "data", emptyDir: {} },
          { name: "mem", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
        ],
        initContainers: [
          busybox("init", "echo from-init > /data/init", {
            volumeMounts: [{ name: "data", mountPath: "/data" }],
          }),
        ],
        containers: [
          busybox("writer", "cat /data/init > /data/x; echo written >> /data/x", {
            volumeMounts: [{ name: "data", mountPath: "/data" }],
          }),
          busybox(
            "reader",
            "until [ -f /data/x ] && grep -q written /data/x; do sleep 0.1; done; grep -q from-init /data/x && df /mem | grep -q ' 1024 '",
            {
              volumeMounts: [
                { name: "data", mountPath: "/data", readOnly: true },
                { name: "mem", mountPath: "/mem" },
              ],
            },
          ),
        ],
      }),
    );
    const s = await until("Succeeded", (s) => s.phase === "Succeeded" || s.phase === "Failed");
    expect(s.phase).toBe("Succeeded");
    expect(s.initContainerStatuses![0]!.state?.terminated).toMatchObject({
      exitCode: 0,
      reason: "Completed",
    });
    expect(cs(s, "reader").state?.terminated).toMatchObject({ exitCode: 0, reason: "Completed" });
    expect(
      statuses.some(
        (x) => x.phase === "Pending" && cs(x, "writer").state?.waiting?.reason === "PodInitializing",
      ),
    ).toBe(true);
  });

  it("graceful stop: Ready=false reported first, then preStop, then SIGTERM; everything is removed", async () => {
    const marks = join(node.scratch, "marks");
    mkdirSync(marks);
    const p = pod("graceful", {
      terminationGracePeriodSeconds: 5,
      volumes: [{ name: "marks", hostPath: { path: marks, type: "Directory" } }],
      containers: [
        busybox("app", "trap 'echo term >> /marks/log; exit 0' TERM; while true; do sleep 0.1; done", {
          volumeMounts: [{ name: "marks", mountPath: "/marks" }],
          lifecycle: { preStop: { exec: { command: ["sh", "-c", "echo prestop >> /marks/log"] } } },
        }),
      ],
    });
    const withdrawn: string[] = [];
    const { worker, until, statuses } = run(p);
    await until("Ready", ready);
    const uid = p.metadata.uid!;
    const netns = node.network.netnsPath(uid);
    expect(existsSync(netns)).toBe(true);
    const before = statuses.length;
    await worker.terminate();
    withdrawn.push("done");
    expect(readFileSync(join(marks, "log"), "utf8")).toBe("prestop\nterm\n");
    const after = statuses.slice(before);
    expect(ready(after[0]!)).toBe(false);
    expect(cs(after[0]!, "app").state?.running).toBeDefined();
    expect(cs(after.at(-1)!, "app").state?.terminated).toMatchObject({ exitCode: 0 });
    expect(after.at(-1)!.phase).toBe("Succeeded");
    expect(existsSync(netns)).toBe(false);
    expect(existsSync(join(node.stateDir, "pods", uid))).toBe(false);
    expect(mountsBeneath(join(node.stateDir, "images", "rootfs"))).toEqual([]);
    expect(existsSync(join("/sys/fs/cgroup/memory", node.cgroupParent, `pod${uid}`))).toBe(false);
  });

  it("waits for the endpoint withdrawal before stopping, at most the grace period", async () => {
    const p = pod("withdraw", {
      terminationGracePeriodSeconds: 1,
      containers: [busybox("app", "exec sleep 600")],
    });
    const order: string[] = [];
    const worker = new PodWorker(p, {
      nodeName: "node-1",
      hostIP: "10.0.0.1",
      stateDir: node.stateDir,
      images: node.images,
      network: node.network,
      runtime: kshim,
      cgroupParent: node.cgroupParent,
      lookup,
      reportStatus: (_p, s) =>
        order.push(
          `status ready=${ready(s)} ${s.containerStatuses![0]!.state?.running ? "running" : "stopped"}`,
        ),
      events: { event: () => undefined },
      waitForEndpointWithdrawal: (_p, signal) =>
        new Promise((resolve) => {
          order.push("wait");
          signal.addEventListener("abort", () => {
            order.push("gave up");
            resolve();
          });
        }),
      pollIntervalMs: 50,
    });
    workers.push(worker);
    worker.start();
    while (!order.includes("status ready=true running")) await new Promise((r) => setTimeout(r, 20));
    await worker.terminate();
    expect(order.slice(order.indexOf("status ready=true running") + 1)).toEqual([
      "status ready=false running",
      "wait",
      "gave up",
      "status ready=false stopped",
    ]);
  });

  it("a new worker adopts running containers: same pid, no restart", async () => {
    const p = pod("adopt", { containers: [busybox("app", "exec sleep 600")] });
    const first = run(p);
    const s1 = await first.until("Running", (s) => s.phase === "Running");
    const id = cs(s1, "app").containerID!.split("://")[1]!;
    const pid = (await kshim.state(id))!.pid;
    first.worker.stop();
    const second = run(p);
    const s2 = await second.until("Running", (s) => s.phase === "Running");
    expect(cs(s2, "app")).toMatchObject({ restartCount: 0, containerID: cs(s1, "app").containerID });
    expect(cs(s2, "app").state?.running?.startedAt).toBe(cs(s1, "app").state?.running?.startedAt);
    expect((await kshim.state(id))!.pid).toBe(pid);
    expect(second.events.some((e) => e.reason === "Started")).toBe(false);
  });

  it("a missing image: ErrImageNeverPull waiting reason and event", async () => {
    const { until, events } = run(
      pod("noimage", {
        containers: [{ name: "c", image: "example.com/nosuch:1", imagePullPolicy: "Never" }],
      }),
    );
    const s = await until("waiting", (s) => cs(s, "c").state?.waiting?.reason === "ErrImageNeverPull");
    expect(cs(s, "c").state?.waiting?.message).toBe(
      'Container image "example.com/nosuch:1" is not present with pull policy of Never',
    );
    expect(s.phase).toBe("Pending");
    expect(events).toContainEqual({
      type: "Warning",
      reason: "ErrImageNeverPull",
      message: 'Container image "example.com/nosuch:1" is not present with pull policy of Never',
    });
  });
});
