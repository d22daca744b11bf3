/**
 * The whole system on a three-host lab, as the README shows it: the example app applied, spread
 * over the hosts and balanced by its Service from every host and pod (not-ready and deleted pods
 * left out of every host's rules), scaled, rolled and rolled back; the control plane and its etcd killed and
 * recovering without losing anything; a namespace deleted with everything in it.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downLab, eventually, isRoot, type LabCluster, startLabCluster } from "./support/lab-cluster.js";

const root = join(import.meta.dirname, "..");

interface PodList {
  items: {
    metadata: { name: string; uid: string; deletionTimestamp?: string };
    spec: { nodeName?: string };
    status?: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
  }[];
}

describe.skipIf(!isRoot)("a three-host cluster running the example app", { timeout: 180_000 }, () => {
  let lab: LabCluster;
  const webPods = async () => {
    const res = await lab.kctl("get", "pods", "-n", "demo", "-l", "app=web", "-o", "json");
    if (res.code !== 0) throw new Error(res.stderr);
    return (JSON.parse(res.stdout) as PodList).items.filter((p) => !p.metadata.deletionTimestamp);
  };
  const serviceIP = async (name: string) => {
    const res = await lab.kctl("get", "service", name, "-n", "demo", "-o", "json");
    return (JSON.parse(res.stdout) as { spec: { clusterIP: string } }).spec.clusterIP;
  };
  const readyWeb = async (n: number) =>
    eventually(
      `${n} ready web pods`,
      async () => {
        const pods = await webPods();
        const ready = pods.filter((p) =>
          p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
        );
        return pods.length === n && ready.length === n ? pods : undefined;
      },
      90_000,
    );

  beforeAll(async () => {
    lab = await startLabCluster("cl", 3);
  });
  afterAll(downLab(() => lab));

  it("applies the manifests and spreads the web pods over the hosts", async () => {
    const res = await lab.kctl("apply", "-f", join(root, "manifests"));
    expect(res.stderr).toBe("");
    const pods = await readyWeb(3);
    expect(new Set(pods.map((p) => p.spec.nodeName)).size).toBe(3);
    const status = await lab.kctl("rollout", "status", "deployment/web", "-n", "demo", "--timeout", "60s");
    expect(status.code).toBe(0);
    // Agents verify the control plane by name, so Node never warns about an IP as TLS server name.
    for (const p of lab.state.processes)
      expect(await readFile(p.logFile, "utf8"), p.name).not.toContain("DeprecationWarning");
  });

  it("answers on the Service's ClusterIP from every host, spread over all the pods", async () => {
    const ip = await serviceIP("web");
    const served = new Map<string, number>();
    for (const node of lab.state.nodes) {
      for (let i = 0; i < 100; i++) {
        const res = await lab.httpGet(node.name, `http://${ip}/`);
        expect(res.code).toBe(0);
        const pod = res.stdout.trim();
        served.set(pod, (served.get(pod) ?? 0) + 1);
      }
    }
    // 300 requests over 3 pods chosen at random: each gets a fair share (expected 100; a share
    // under 60 would be 5 standard deviations off).
    expect(served.size).toBe(3);
    for (const count of served.values()) expect(count).toBeGreaterThanOrEqual(60);
  });

  it("answers on the NodePort of every host, and by DNS name from a pod", async () => {
    for (const node of lab.state.nodes) {
      const other = lab.state.nodes.find((n) => n.name !== node.name)!;
      const res = await lab.httpGet(other.name, `http://${node.address}:30080/`);
      expect(res.stdout).toMatch(/^web-/);
    }
    const pod = (await webPods())[0]!.metadata.name;
    const byName = await lab.kctl(
      "exec",
      pod,
      "-n",
      "demo",
      "--",
      "wget",
      "-q",
      "-O-",
      "http://web.demo.svc.cluster.local/",
    );
    expect(byName.stdout).toMatch(/^web-/);
  });

  it("reaches a pod on another host from a pod, sends nothing to a pod that is not ready, and drops a deleted pod from every host's rules", async () => {
    const pods = await readyWeb(3);
    const [a, b] = [pods[0]!, pods.find((p) => p.spec.nodeName !== pods[0]!.spec.nodeName)!];
    const exec = (pod: string, ...argv: string[]) => lab.kctl("exec", pod, "-n", "demo", "--", ...argv);
    const across = await exec(a.metadata.name, "wget", "-q", "-O-", `http://${b.status!.podIP}:8080/`);
    expect(across.stdout.trim()).toBe(b.metadata.name);

    const ip = await serviceIP("web");
    const ask = async (times: number) => {
      const answers: string[] = [];
      for (const node of lab.state.nodes)
        for (let i = 0; i < times; i++) {
          const res = await lab.httpGet(node.name, `http://${ip}/`);
          answers.push(res.stdout.trim());
        }
      return answers;
    };
    /** The hosts whose rules still DNAT to `pod`. */
    const hostsCarrying = async (pod: (typeof pods)[number]) => {
      const carrying: string[] = [];
      for (const node of lab.state.nodes) {
        const table = await lab.onNode(node.name, "nft", "list", "table", "ip", "kctl");
        if (table.stdout.includes(`dnat to ${pod.status!.podIP}:`)) carrying.push(node.name);
      }
      return carrying;
    };
    const leftEveryHost = (pod: (typeof pods)[number], what: string) =>
      eventually(
        `${what}'s address gone from every host's rules`,
        async () => ((await hostsCarrying(pod)).length === 0 ? true : undefined),
        20_000,
      );
    const sick = pods[2]!;
    expect((await exec(sick.metadata.name, "rm", "/www/index.html")).code).toBe(0);
    await eventually("the not-ready pod out of the Endpoints", async () => {
      const eps = JSON.parse(
        (await lab.kctl("get", "endpoints", "web", "-n", "demo", "-o", "json")).stdout,
      ) as {
        subsets?: { addresses?: { ip: string }[]; notReadyAddresses?: { ip: string }[] }[];
      };
      const notReady = eps.subsets?.flatMap((s) => s.notReadyAddresses ?? []).map((x) => x.ip) ?? [];
      return notReady.includes(sick.status!.podIP!) || undefined;
    });
    await leftEveryHost(sick, "the not-ready pod");
    const answers = await ask(20);
    expect(answers.filter((x) => x === "")).toEqual([]);
    expect(answers).not.toContain(sick.metadata.name);
    expect(
      (await exec(sick.metadata.name, "sh", "-c", `echo ${sick.metadata.name} > /www/index.html`)).code,
    ).toBe(0);

    const gone = pods[1]!;
    expect(await hostsCarrying(gone)).toHaveLength(lab.state.nodes.length);
    expect((await lab.kctl("delete", "pod", gone.metadata.name, "-n", "demo")).code).toBe(0);
    await leftEveryHost(gone, "the deleted pod");
    await readyWeb(3);
  });

  it("rolls 6 replicas under a constant request loop from another host with no failed request", async () => {
    expect((await lab.kctl("scale", "deployment/web", "-n", "demo", "--replicas", "6")).code).toBe(0);
    await readyWeb(6);
    const ip = await serviceIP("web");
    const client = lab.state.nodes[0]!.name;
    const loop = lab.onNode(
      client,
      "sh",
      "-c",
      `ok=0; fail=0; end=$(($(date +%s) + 25)); while [ $(date +%s) -lt $end ]; do if timeout 3 busybox wget -q -O /dev/null http://${ip}/; then ok=$((ok+1)); else fail=$((fail+1)); fi; done; echo "$ok $fail"`,
    );
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await lab.kctl("rollout", "restart", "deployment/web", "-n", "demo")).code).toBe(0);
    expect(
      (await lab.kctl("rollout", "status", "deployment/web", "-n", "demo", "--timeout", "60s")).code,
    ).toBe(0);
    const [ok, failed] = (await loop).stdout.trim().split(" ").map(Number);
    expect(failed).toBe(0);
    expect(ok).toBeGreaterThan(50);
  });

  it("scales 6 → 3 → 6 → 2", async () => {
    expect((await lab.kctl("scale", "deployment/web", "-n", "demo", "--replicas", "3")).code).toBe(0);
    await readyWeb(3);
    expect((await lab.kctl("scale", "deployment/web", "-n", "demo", "--replicas", "6")).code).toBe(0);
    await readyWeb(6);
    expect((await lab.kctl("scale", "deployment/web", "-n", "demo", "--replicas", "2")).code).toBe(0);
    await readyWeb(2);
  });

  it("rolls out a new template and rolls it back", async () => {
    expect((await lab.kctl("rollout", "restart", "deployment/web", "-n", "demo")).code).toBe(0);
    expect(
      (await lab.kctl("rollout", "status", "deployment/web", "-n", "demo", "--timeout", "90s")).code,
    ).toBe(0);
    const history = await lab.kctl("rollout", "history", "deployment/web", "-n", "demo");
    expect(history.stdout).toMatch(/^3\b/m);
    expect((await lab.kctl("rollout", "undo", "deployment/web", "-n", "demo")).code).toBe(0);
    expect(
      (await lab.kctl("rollout", "status", "deployment/web", "-n", "demo", "--timeout", "90s")).code,
    ).toBe(0);
    await readyWeb(2);
  });

  it("loses nothing when the control plane is killed with -9 and restarted", async () => {
    const before = (await webPods()).map((p) => p.metadata.uid).sort();
    await lab.crashAndRestart("controlplane");
    const after = await eventually("API back", async () => {
      const pods = await webPods().catch(() => undefined);
      return pods?.length === 2 ? pods : undefined;
    });
    expect(after.map((p) => p.metadata.uid).sort()).toEqual(before);
    expect((await lab.kctl("scale", "deployment/web", "-n", "demo", "--replicas", "3")).code).toBe(0);
    await readyWeb(3);
  });

  it("recovers when etcd is killed", async () => {
    const pidFile = join(lab.state.labDir, "state", "controlplane", "etcd.pid");
    const pid = Number((await readFile(pidFile, "utf8")).trim());
    process.kill(pid, "SIGKILL");
    await eventually("etcd back", async () => {
      const res = await lab.kctl("get", "deploy", "web", "-n", "demo");
      return res.code === 0 ? true : undefined;
    });
    expect(Number((await readFile(pidFile, "utf8")).trim())).not.toBe(pid);
    expect((await lab.kctl("scale", "deployment/web", "-n", "demo", "--replicas", "2")).code).toBe(0);
    await readyWeb(2);
  });

  it("deletes a namespace with everything in it, containers included", async () => {
    // Containers are named after their pod's uid; other namespaces' pods (the ingress controller
    // from manifests/) keep running.
    const listed = await lab.kctl("get", "pods", "-n", "demo", "-o", "json");
    const uids = (JSON.parse(listed.stdout) as PodList).items.map((p) => p.metadata.uid);
    expect(uids.length).toBeGreaterThan(0);
    expect((await lab.kctl("delete", "namespace", "demo")).code).toBe(0);
    await eventually(
      "namespace gone",
      async () => ((await lab.kctl("get", "namespace", "demo")).code !== 0 ? true : undefined),
      90_000,
    );
    for (const node of lab.state.nodes) {
      const procs = await lab.onNode(
        node.name,
        "sh",
        "-c",
        "ls " + join(lab.state.labDir, "state", node.name, "runtime"),
      );
      const left = procs.stdout.split(/\s+/).filter((id) => uids.some((uid) => id.startsWith(`${uid}_`)));
      expect(left).toEqual([]);
    }
  });
});
