/**
 * Pod isolation on a one-host lab: attempts by a pod to reach the host, written as an attacker
 * would try them (each must fail, for the reason checked, and leave the host's files untouched),
 * and securityContext as upstream documents it.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downLab, eventually, isRoot, type LabCluster, startLabCluster } from "./support/lab-cluster.js";

interface ContainerStatus {
  name: string;
  ready: boolean;
  state: { waiting?: { reason: string; message?: string }; running?: object };
}
interface PodJson {
  spec: { nodeName?: string };
  status?: { containerStatuses?: ContainerStatus[] };
}

describe.skipIf(!isRoot)("pod isolation", () => {
  let lab: LabCluster;
  let hostDir: string;
  const secretText = `host-secret-${randomBytes(6).toString("hex")}`;

  const get = async (name: string): Promise<PodJson> => {
    const res = await lab.kctl("get", "pod", name, "-n", "esc", "-o", "json");
    if (res.code !== 0) throw new Error(res.stderr);
    return JSON.parse(res.stdout) as PodJson;
  };
  const status = (p: PodJson, name: string) => p.status?.containerStatuses?.find((c) => c.name === name);
  const logs = async (pod: string, container: string) =>
    (await lab.kctl("logs", pod, "-c", container, "-n", "esc")).stdout;

  beforeAll(async () => {
    // A root-only host file the pods try to read, and a directory they try to write into.
    hostDir = await mkdtemp(join(tmpdir(), "kctl-escape-host-"));
    await writeFile(join(hostDir, "secret"), secretText, { mode: 0o600 });
    await writeFile(join(hostDir, "root-only"), secretText, { mode: 0o600 });
    await mkdir(join(hostDir, "planted"));
    lab = await startLabCluster("esc", 1);
    const res = await lab.apply(`apiVersion: v1
kind: Namespace
metadata: {name: esc}
---
apiVersion: v1
kind: Secret
metadata: {name: token, namespace: esc}
stringData: {token: pod-token-value}
---
apiVersion: v1
kind: Pod
metadata: {name: subpath-root, namespace: esc}
spec:
  volumes: [{name: data, emptyDir: {}}]
  initContainers:
  - name: plant
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "ln -s / /data/x && ln -s ../../../../../../../ /data/up"]
    volumeMounts: [{name: data, mountPath: /data}]
  containers:
  - name: absolute
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "cat /host${hostDir}/secret; sleep 3600"]
    volumeMounts: [{name: data, mountPath: /host, subPath: x}]
  - name: relative
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "cat /host${hostDir}/secret; sleep 3600"]
    volumeMounts: [{name: data, mountPath: /host, subPath: up}]
  - name: inside
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "ls /sub; sleep 3600"]
    volumeMounts: [{name: data, mountPath: /sub, subPath: made/by/kubelet}]
---
apiVersion: v1
kind: Pod
metadata: {name: secret-plant, namespace: esc}
spec:
  volumes: [{name: token, secret: {secretName: token}}]
  containers:
  - name: main
    image: kctl.local/busybox:debian
    command:
    - sh
    - -c
    - |
      for f in token.tmp ..data_tmp token; do
        ln -sfn ${hostDir}/planted/$f /var/run/token/$f 2>&1 || echo "plant $f refused"
      done
      echo "token=$(cat /var/run/token/token)"
      sleep 3600
    volumeMounts: [{name: token, mountPath: /var/run/token}]
---
apiVersion: v1
kind: Pod
metadata: {name: hardened, namespace: esc}
spec:
  securityContext: {runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000, supplementalGroups: [4000]}
  volumes: [{name: data, emptyDir: {}}]
  containers:
  - name: main
    image: kctl.local/busybox:debian
    command:
    - sh
    - -c
    - |
      id
      touch /rootfs-write 2>&1
      touch /data/f && stat -c 'data-file %u:%g' /data/f
      grep -E '^(NoNewPrivs|CapEff):' /proc/self/status
      sleep 3600
    securityContext:
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
    volumeMounts: [{name: data, mountPath: /data}]
---
apiVersion: v1
kind: Pod
metadata: {name: refused, namespace: esc}
spec:
  containers:
  - name: nonroot
    image: kctl.local/busybox:debian
    command: ["sleep", "3600"]
    securityContext: {runAsNonRoot: true}
  - name: privileged
    image: kctl.local/busybox:debian
    command: ["sleep", "3600"]
    securityContext: {privileged: true}
---
apiVersion: v1
kind: Pod
metadata: {name: seccomp, namespace: esc}
spec:
  containers:
  - name: default
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "unshare -U true 2>&1 && echo unshare-ok; mount -t tmpfs x /mnt 2>&1 && echo mount-ok; sleep 3600"]
  - name: unconfined
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "unshare -U true 2>&1 && echo unshare-ok; sleep 3600"]
    securityContext: {seccompProfile: {type: Unconfined}}
---
apiVersion: v1
kind: Pod
metadata: {name: userns, namespace: esc}
spec:
  hostUsers: false
  volumes:
  - {name: host, hostPath: {path: ${hostDir}}}
  - {name: scratch, emptyDir: {}}
  containers:
  - name: main
    image: kctl.local/busybox:debian
    command:
    - sh
    - -c
    - |
      id
      cat /proc/self/uid_map
      cat /host/root-only 2>&1 || echo "host file refused"
      echo hi > /scratch/f && echo "emptyDir writable"
      sleep 3600
    volumeMounts:
    - {name: host, mountPath: /host}
    - {name: scratch, mountPath: /scratch}
---
apiVersion: v1
kind: Pod
metadata: {name: filler, namespace: esc}
spec:
  restartPolicy: Never
  volumes: [{name: scratch, emptyDir: {sizeLimit: 1Mi}}]
  containers:
  - name: main
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "dd if=/dev/zero of=/scratch/fill bs=1M count=4; sleep 3600"]
    volumeMounts: [{name: scratch, mountPath: /scratch}]
`);
    expect(res.stderr).toBe("");
  });
  afterAll(downLab(() => lab));
  afterAll(() => rm(hostDir, { recursive: true, force: true }));

  it("refuses a subPath that is a symlink out of the volume, absolute or relative (CVE-2017-1002101)", async () => {
    for (const name of ["absolute", "relative"]) {
      const c = await eventually(`${name} refused`, async () => {
        const s = status(await get("subpath-root"), name);
        return s?.state.waiting?.reason === "CreateContainerConfigError" ? s : undefined;
      });
      expect(c.state.waiting?.message).toMatch(/leaves the volume/);
    }
    const inside = await eventually("subPath made inside the volume", async () => {
      const s = status(await get("subpath-root"), "inside");
      return s?.state.running ? s : undefined;
    });
    expect(inside.name).toBe("inside");
    for (const name of ["absolute", "relative"])
      expect(await logs("subpath-root", name)).not.toContain(secretText);
  });

  it("mounts secret volumes read-only, so nothing planted there redirects the agent's writes after a restart", async () => {
    await eventually("secret-plant running", async () => {
      const out = await logs("secret-plant", "main");
      return out.includes("token=") ? out : undefined;
    });
    const node = (await get("secret-plant")).spec.nodeName!;
    await lab.crashAndRestart(node);
    // The restarted agent adopts the pod and writes its secret volume again.
    await eventually("secret-plant adopted", async () =>
      (await lab.kctl("exec", "secret-plant", "-n", "esc", "--", "true")).code === 0 ? true : undefined,
    );
    const out = await logs("secret-plant", "main");
    expect(out).toContain("token=pod-token-value");
    for (const f of ["token.tmp", "..data_tmp", "token"]) {
      expect(out).toMatch(new RegExp(`plant ${f.replace(/\./g, "\\.")} refused`));
      expect(existsSync(join(hostDir, "planted", f))).toBe(false);
    }
    expect(out).toMatch(/Read-only file system/);
  });

  it("runs a container as runAsUser/runAsGroup with fsGroup, a read-only root, no privilege escalation and no capabilities", async () => {
    const out = await eventually("hardened ran", async () => {
      const text = await logs("hardened", "main");
      return text.includes("CapEff") ? text : undefined;
    });
    expect(out).toMatch(/uid=1000 gid=3000 groups=.*2000.*4000|uid=1000 gid=3000 groups=.*4000.*2000/);
    expect(out).toMatch(/rootfs-write.*Read-only file system/);
    expect(out).toContain("data-file 1000:2000");
    expect(out).toMatch(/NoNewPrivs:\s+1/);
    expect(out).toMatch(/CapEff:\s+0000000000000000/);
  });

  it("refuses runAsNonRoot for an image that runs as root, and privileged on a node that does not allow it", async () => {
    const waiting = async (name: string) =>
      eventually(`${name} refused`, async () => {
        const s = status(await get("refused"), name);
        return s?.state.waiting?.reason === "CreateContainerConfigError" ? s.state.waiting : undefined;
      });
    expect((await waiting("nonroot")).message).toMatch(/runAsNonRoot and image will run as root/);
    expect((await waiting("privileged")).message).toMatch(/privileged/);
  });

  it("refuses unshare and mount under the default seccomp profile, and allows unshare unconfined", async () => {
    const out = await eventually("seccomp pod ran", async () => {
      const d = await logs("seccomp", "default");
      const u = await logs("seccomp", "unconfined");
      return d.includes("mount") && u.includes("unshare") ? { d, u } : undefined;
    });
    expect(out.d).toMatch(/unshare: .*Operation not permitted/);
    expect(out.d).not.toContain("unshare-ok");
    expect(out.d).not.toContain("mount-ok");
    expect(out.u).toContain("unshare-ok");
  });

  it("runs a hostUsers: false pod as root in its own user namespace, nobody to the host's files", async () => {
    const out = await eventually("userns pod ran", async () => {
      const text = await logs("userns", "main");
      return text.includes("host file") || text.includes(secretText) ? text : undefined;
    });
    expect(out).toMatch(/uid=0\(root\)/);
    // container id 0 is a host id of the pod's own range, never the host's root
    expect(out).toMatch(/^\s*0\s+(\d+)\s+65536$/m);
    expect(out).not.toMatch(/^\s*0\s+0\s+/m);
    expect(out).toContain("host file refused");
    expect(out).toContain("emptyDir writable");
    expect(out).not.toContain(secretText);
  });

  // The agent measures emptyDirs every 10 s, and this took 28 s in CI here: the test's own default
  // of 60 s would leave a slower machine little room, and end it without the wait's message.
  it("evicts a pod whose disk-backed emptyDir grows past its sizeLimit", async () => {
    const pod = await eventually(
      "filler evicted",
      async () => {
        const res = await lab.kctl("get", "pod", "filler", "-n", "esc", "-o", "json");
        const p = JSON.parse(res.stdout) as {
          status?: { phase?: string; reason?: string; message?: string };
        };
        return p.status?.phase === "Failed" ? p : undefined;
      },
      100_000,
    );
    expect(pod.status?.reason).toBe("Evicted");
    expect(pod.status?.message).toBe('Usage of EmptyDir volume "scratch" exceeds the limit "1Mi". ');
  }, 120_000);
});
