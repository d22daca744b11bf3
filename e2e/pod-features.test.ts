/**
 * Pod features on real nodes that e2e/pods.test.ts leaves out: volumes (emptyDir shared by two
 * containers, configMap and secret with items, defaultMode and subPath, a ConfigMap change reaching
 * a running pod), init containers, the startup probe, activeDeadlineSeconds, dnsPolicy Default,
 * termination messages, a securityContext user reaching the container, and the ServiceAccount token
 * volume. Every pod is created up front so the slow checks wait in parallel.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downLab, eventually, isRoot, type LabCluster, startLabCluster } from "./support/lab-cluster.js";

interface Terminated {
  reason: string;
  exitCode: number;
  message?: string;
}

interface ContainerStatus {
  name: string;
  restartCount: number;
  ready: boolean;
  started?: boolean;
  containerID?: string;
  state: { waiting?: { reason: string }; running?: object; terminated?: Terminated };
}

interface PodJson {
  spec: { nodeName?: string };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

const pod = (name: string, spec: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: features
spec:
  terminationGracePeriodSeconds: 1
${spec}`;

const liveConfig = (value: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: live
  namespace: features
data:
  v: ${value}
`;

const manifests = [
  "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: features\n",
  `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: features
data:
  a: alpha
  b: beta
`,
  `apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: features
data:
  user: YWRtaW4=
`,
  liveConfig("one"),
  pod(
    "shared",
    `  volumes: [{name: scratch, emptyDir: {}}]
  containers:
  - name: writer
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "echo hello > /data/msg; exec sleep 1000"]
    volumeMounts: [{name: scratch, mountPath: /data}]
  - name: reader
    image: kctl.local/busybox:debian
    command: ["sleep", "1000"]
    volumeMounts: [{name: scratch, mountPath: /data}]
`,
  ),
  // Modes in decimal: 288 is 0440, 256 is 0400.
  pod(
    "config",
    `  volumes:
  - {name: cfg, configMap: {name: settings, defaultMode: 288}}
  - {name: picked, configMap: {name: settings, items: [{key: b, path: nested/bee, mode: 256}]}}
  - {name: sec, secret: {secretName: creds, defaultMode: 256}}
  containers:
  - name: main
    image: kctl.local/busybox:debian
    command: ["sleep", "1000"]
    volumeMounts:
    - {name: cfg, mountPath: /cfg}
    - {name: picked, mountPath: /picked}
    - {name: cfg, mountPath: /etc/a.conf, subPath: a}
    - {name: sec, mountPath: /secret, readOnly: true}
`,
  ),
  pod(
    "refresh",
    `  volumes: [{name: live, configMap: {name: live}}]
  containers:
  - name: main
    image: kctl.local/busybox:debian
    command: ["sleep", "1000"]
    volumeMounts: [{name: live, mountPath: /live}]
`,
  ),
  pod(
    "inits",
    `  volumes: [{name: w, emptyDir: {}}]
  initContainers:
  - name: first
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "echo one >> /w/order"]
    volumeMounts: [{name: w, mountPath: /w}]
  - name: second
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "echo two >> /w/order; [ -f /w/again ] && exit 0; touch /w/again; exit 1"]
    volumeMounts: [{name: w, mountPath: /w}]
  containers:
  - name: main
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "echo main >> /w/order; exec sleep 1000"]
    volumeMounts: [{name: w, mountPath: /w}]
`,
  ),
  pod(
    "badinit",
    `  restartPolicy: Never
  initContainers:
  - name: fails
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "exit 4"]
  containers:
  - name: main
    image: kctl.local/busybox:debian
    command: ["sleep", "1000"]
`,
  ),
  // Liveness alone would kill this container in its first second; the startup probe holds it back.
  pod(
    "slowstart",
    `  containers:
  - name: main
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "sleep 4; touch /tmp/up; exec sleep 1000"]
    startupProbe: {exec: {command: [test, -f, /tmp/up]}, periodSeconds: 1, failureThreshold: 30}
    livenessProbe: {exec: {command: [test, -f, /tmp/up]}, periodSeconds: 1, failureThreshold: 1}
`,
  ),
  pod(
    "deadline",
    `  activeDeadlineSeconds: 4
  containers:
  - name: main
    image: kctl.local/busybox:debian
    command: ["sleep", "1000"]
`,
  ),
  pod(
    "dnsdefault",
    `  dnsPolicy: Default
  containers:
  - name: main
    image: kctl.local/busybox:debian
    command: ["sleep", "1000"]
`,
  ),
  pod(
    "asuser",
    `  containers:
  - name: main
    image: kctl.local/busybox:debian
    command: ["sleep", "1000"]
    securityContext: {runAsUser: 1000, runAsGroup: 1000}
`,
  ),
  pod(
    "termmsg",
    `  restartPolicy: Never
  containers:
  - name: main
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "printf bye > /dev/termination-log"]
`,
  ),
  pod(
    "termpath",
    `  restartPolicy: Never
  containers:
  - name: main
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "printf because > /tmp/why; exit 1"]
    terminationMessagePath: /tmp/why
`,
  ),
  pod(
    "termlogs",
    `  restartPolicy: Never
  containers:
  - name: main
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "echo first words; echo last words; exit 2"]
    terminationMessagePolicy: FallbackToLogsOnError
`,
  ),
  // It stops at once when asked, so its deletion (and its token's end) is not the grace period's.
  pod(
    "identity",
    `  containers:
  - name: main
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
`,
  ),
].join("---\n");

const kubectl = "/usr/bin/kubectl";

describe.skipIf(!isRoot)("pod features on real nodes", () => {
  let lab: LabCluster;
  const get = async (name: string): Promise<PodJson> => {
    const res = await lab.kctl("get", "pod", name, "-n", "features", "-o", "json");
    if (res.code !== 0) throw new Error(res.stderr);
    return JSON.parse(res.stdout) as PodJson;
  };
  const main = (p: PodJson, name = "main") => p.status?.containerStatuses?.find((c) => c.name === name);
  const exec = async (name: string, container: string, script: string) => {
    const res = await lab.kctl("exec", name, "-n", "features", "-c", container, "--", "sh", "-c", script);
    if (res.code !== 0) throw new Error(`exec in ${name}: ${res.code} ${res.stderr}`);
    return res.stdout;
  };
  const running = (name: string, container = "main") =>
    eventually(`${name} running`, async () =>
      main(await get(name), container)?.state.running ? true : undefined,
    );
  const terminated = (name: string) =>
    eventually(`${name} terminated`, async () => main(await get(name))?.state.terminated);

  beforeAll(async () => {
    lab = await startLabCluster("feat", 1);
    const res = await lab.apply(manifests);
    expect(res.stderr).toBe("");
  });
  afterAll(downLab(() => lab));

  it("shares an emptyDir between two containers of a pod", async () => {
    await running("shared", "reader");
    await running("shared", "writer");
    expect(
      await eventually("message", async () => (await exec("shared", "reader", "cat /data/msg")) || undefined),
    ).toBe("hello\n");
  });

  it("mounts configMap and secret volumes with items, defaultMode and subPath", async () => {
    await running("config");
    const out = await exec(
      "config",
      "main",
      [
        "cat /cfg/a; echo; cat /cfg/b; echo; stat -L -c %a /cfg/a",
        "cat /picked/nested/bee; echo; stat -L -c %a /picked/nested/bee; ls /picked/nested",
        "cat /etc/a.conf; echo",
        "cat /secret/user; echo; stat -L -c %a /secret/user",
      ].join("; "),
    );
    expect(out).toBe("alpha\nbeta\n440\nbeta\n400\nbee\nalpha\nadmin\n400\n");
    // The secret is mounted read-only.
    const write = await lab.kctl(
      "exec",
      "config",
      "-n",
      "features",
      "--",
      "sh",
      "-c",
      "echo x > /secret/user",
    );
    expect(write.code).not.toBe(0);
  });

  it("updates a configMap volume of a running pod when its ConfigMap changes", async () => {
    await running("refresh");
    expect(await exec("refresh", "main", "cat /live/v")).toBe("one");
    expect((await lab.apply(liveConfig("two"))).code).toBe(0);
    await eventually("new value in the volume", async () =>
      (await exec("refresh", "main", "cat /live/v")) === "two" ? true : undefined,
    );
  });

  it("runs init containers in order, restarting a failing one before the containers start", async () => {
    await running("inits");
    const p = await get("inits");
    const inits = p.status?.initContainerStatuses ?? [];
    expect(inits.map((c) => [c.name, c.state.terminated?.reason, c.restartCount])).toEqual([
      ["first", "Completed", 0],
      ["second", "Completed", 1],
    ]);
    expect(p.status?.conditions?.find((c) => c.type === "Initialized")?.status).toBe("True");
    expect(await exec("inits", "main", "cat /w/order")).toBe("one\ntwo\ntwo\nmain\n");
  });

  it("fails a restartPolicy Never pod whose init container fails, without starting its containers", async () => {
    const p = await eventually("badinit failed", async () => {
      const s = await get("badinit");
      return s.status?.phase === "Failed" ? s : undefined;
    });
    expect(p.status?.initContainerStatuses?.[0]?.state.terminated).toMatchObject({ exitCode: 4 });
    const c = main(p);
    expect(c?.state.running).toBeUndefined();
    expect(c?.containerID).toBeUndefined();
  });

  it("holds the liveness probe back until the startup probe passes", async () => {
    const c = await eventually(
      "slowstart ready",
      async () => {
        const s = main(await get("slowstart"));
        return s?.ready ? s : undefined;
      },
      30_000,
    );
    expect(c.started).toBe(true);
    expect(c.restartCount).toBe(0);
    const described = await lab.kctl("describe", "pod", "slowstart", "-n", "features");
    expect(described.stdout).not.toMatch(/Liveness probe failed/);
  });

  it("fails a pod past its activeDeadlineSeconds with DeadlineExceeded and kills its containers", async () => {
    const p = await eventually("deadline exceeded", async () => {
      const s = await get("deadline");
      return s.status?.phase === "Failed" && main(s)?.state.terminated ? s : undefined;
    });
    expect(p.status?.reason).toBe("DeadlineExceeded");
    expect(p.status?.message).toBe("Pod was active on the node longer than the specified deadline");
    // Killed, and not started again.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(main(await get("deadline"))).toMatchObject({ restartCount: 0, state: { terminated: {} } });
  });

  it("gives a dnsPolicy: Default pod its node's resolv.conf, and other pods the cluster's", async () => {
    await running("dnsdefault");
    await running("shared", "reader");
    const node = (await get("dnsdefault")).spec.nodeName!;
    const nodeResolv = await lab.onNode(node, "cat", "/etc/resolv.conf");
    expect(nodeResolv.code).toBe(0);
    expect(await exec("dnsdefault", "main", "cat /etc/resolv.conf")).toBe(nodeResolv.stdout);
    const cluster = await exec("shared", "reader", "cat /etc/resolv.conf");
    expect(cluster).toContain("features.svc.");
    expect(cluster).not.toBe(nodeResolv.stdout);
  });

  it("reports what a container wrote at its terminationMessagePath as terminated.message", async () => {
    expect(await terminated("termmsg")).toMatchObject({ exitCode: 0, reason: "Completed", message: "bye" });
    expect(await terminated("termpath")).toMatchObject({ exitCode: 1, message: "because" });
  });

  it("falls back to the log's tail for a failed container with FallbackToLogsOnError", async () => {
    expect(await terminated("termlogs")).toMatchObject({ exitCode: 2, message: "first words\nlast words\n" });
  });

  it("runs a container as the user its securityContext names", async () => {
    await running("asuser");
    expect(await exec("asuser", "main", "id -u; id -g")).toBe("1000\n1000\n");
  });

  it("refuses a grpc probe at the API, naming the field", async () => {
    const res = await lab.apply(
      pod(
        "grpcprobe",
        `  containers:
  - name: main
    image: kctl.local/busybox:debian
    livenessProbe: {grpc: {port: 9000}}
`,
      ),
    );
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("grpc");
    expect((await lab.kctl("get", "pod", "grpcprobe", "-n", "features")).code).not.toBe(0);
  });

  it.skipIf(!existsSync(kubectl))(
    "mounts the pod's ServiceAccount token, CA and namespace, a token that works only while the pod lives",
    async () => {
      await running("identity");
      const dir = "/var/run/secrets/kubernetes.io/serviceaccount";
      expect(await exec("identity", "main", `cat ${dir}/namespace`)).toBe("features");
      expect(await exec("identity", "main", `grep -c BEGIN ${dir}/ca.crt`)).toBe("1\n");
      expect(await exec("identity", "main", `touch ${dir}/x 2>&1 || echo read-only`)).toContain("read-only");
      const token = (await exec("identity", "main", `cat ${dir}/token`)).trim();
      const asPod = () =>
        promisify(execFile)(kubectl, [
          "--kubeconfig",
          lab.config,
          "--token",
          token,
          "get",
          "pods",
          "-n",
          "features",
        ]).then(
          () => "",
          (err: { stderr: string }) => err.stderr,
        );
      expect(await asPod()).toContain(
        'User "system:serviceaccount:features:default" cannot list resource "pods"',
      );
      expect((await lab.kctl("delete", "pod", "identity", "-n", "features")).code).toBe(0);
      await eventually("the token to stop working with its pod gone", async () =>
        (await asPod()).includes("Unauthorized") ? true : undefined,
      );
    },
    180_000,
  );
});
