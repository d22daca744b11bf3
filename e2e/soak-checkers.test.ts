/**
 * The soak's two host-side checkers, each on its own, on a real 3-host lab. The leak checker
 * (support/leak-checker.ts): a lab whose workloads came and went reports nothing, and a leak of
 * each kind planted on one host (a network namespace, a veth pair and a bridge, a cgroup, a mount,
 * an nft table with a chain, a rule, a set and an element, a process in the agent's cgroup, a pod
 * dir) is reported on that host and nowhere else. The at-most-one checker
 * (support/at-most-one-checker.ts): a pod that asks for at most one copy moved from one host to
 * another by a graceful delete is no overlap; the same pod identity run on two hosts at once (its
 * host's agent killed so its container stays, the pod force-deleted and created again on another
 * host) is reported as one.
 */
import { mkdir, rm, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { componentLogFile, componentStateDir, readLabState } from "../kctl/lab/lab-state.js";
import { type StartedComponent, startComponent, stopProcesses } from "../kctl/lab/processes.js";
import { runCommand } from "../kctl/lab/run-command.js";
import { startAtMostOneChecker } from "./support/at-most-one-checker.js";
import { downLab, eventually, isRoot, type LabCluster, startLabCluster } from "./support/lab-cluster.js";
import { leaksAfterSettling, snapshotLab, snapshotLabAtRest } from "./support/leak-checker.js";
import { describeLeaks, type HostSnapshot, leaksBetween } from "./support/leak-diff.js";
import { shimsOn } from "./support/lose-host.js";

const workloads = (ns: string) => `
apiVersion: v1
kind: Namespace
metadata: {name: ${ns}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${ns}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: kctl.local/busybox:debian
        command: ["sh", "-c", "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www"]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: ${ns}}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: ${ns}}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: ${ns}}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: kctl.local/busybox:debian
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
`;

/** A bare pod pinned to `node` that asks for at most one copy. */
const soloOn = (ns: string, node: string) => `
apiVersion: v1
kind: Pod
metadata:
  name: solo
  namespace: ${ns}
  annotations: {kctl.io/at-most-one: "true"}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: kctl.local/busybox:debian
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
`;

describe.skipIf(!isRoot)("the soak's checkers", { timeout: 600_000 }, () => {
  let lab: LabCluster;
  let baseline: HostSnapshot[];

  beforeAll(async () => {
    lab = await startLabCluster("chk", 3);
    baseline = await snapshotLabAtRest(lab.state.labDir);
  }, 300_000);
  afterAll(downLab(() => lab));

  const pods = async (ns: string) => {
    const res = await lab.kctl("get", "pods", "-n", ns, "-o", "json");
    return (
      JSON.parse(res.stdout || '{"items":[]}') as {
        items: {
          metadata: { name: string; uid: string };
          spec: { nodeName?: string };
          status?: { conditions?: { type: string; status: string }[] };
        }[];
      }
    ).items;
  };
  const ready = (p: Awaited<ReturnType<typeof pods>>[number]) =>
    p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
  const namespaceGone = (ns: string) =>
    eventually(
      `namespace ${ns} gone`,
      async () => {
        const res = await lab.kctl("get", "namespace", ns);
        return res.code !== 0 && /not ?found/i.test(res.stderr) ? true : undefined;
      },
      120_000,
    );

  it("reports no leak once workloads that came and went are gone", async () => {
    // The baseline is of agents that are up: each host already holds its agent's Service table
    // (in CI a baseline taken earlier reported every agent's tables as leaks).
    for (const n of lab.state.nodes)
      expect(baseline.find((h) => h.host === n.name)?.items.nft.map((i) => i.key)).toContain("table ip kctl");
    expect((await lab.apply(workloads("come-go"))).code).toBe(0);
    await eventually(
      "4 pods Ready",
      async () => ((await pods("come-go")).filter(ready).length === 4 ? true : undefined),
      120_000,
    );
    expect((await lab.kctl("delete", "namespace", "come-go")).code).toBe(0);
    await namespaceGone("come-go");
    const { leaks, settledMs } = await leaksAfterSettling(lab.state.labDir, baseline, 90_000);
    expect(describeLeaks(leaks)).toEqual([]);
    console.log(`hosts clean ${settledMs} ms after the namespace was gone`);
  });

  it("reports a planted leak of every kind on its host and nowhere else", async () => {
    const node = "node2";
    const state = (await readLabState(lab.state.labDir))!;
    const host = state.nodes.find((n) => n.name === node)!;
    const agent = state.processes.find((p) => p.name === node)!;
    const dir = componentStateDir(lab.state.labDir, node);
    const netnsFile = join(dir, "planted-netns");
    const mountPoint = join(dir, "planted-mount");
    const podDir = join(dir, "pods", "00000000-0000-4000-8000-00000000beef");
    const cgroup = join(agent.cgroups[0]!, "planted");
    const inHost = (...argv: string[]) => runCommand(["ip", "netns", "exec", host.namespace, ...argv]);
    let sleeper: StartedComponent | undefined;
    try {
      await writeFile(netnsFile, "");
      expect((await runCommand(["unshare", `--net=${netnsFile}`, "true"])).code).toBe(0);
      expect(
        (await inHost("ip", "link", "add", "plantveth", "type", "veth", "peer", "name", "plantpeer")).code,
      ).toBe(0);
      expect((await inHost("ip", "link", "add", "plantbridge", "type", "bridge")).code).toBe(0);
      await mkdir(cgroup);
      await mkdir(mountPoint);
      expect((await runCommand(["mount", "-t", "tmpfs", "planted", mountPoint])).code).toBe(0);
      const table = [
        "table inet planted {",
        "  set blocked { type ipv4_addr; elements = { 10.9.9.9 }; }",
        "  chain input { type filter hook input priority 0; ip saddr @blocked drop; }",
        "}",
        "",
      ].join("\n");
      expect((await runCommand(["ip", "netns", "exec", host.namespace, "nft", "-f", "-"], table)).code).toBe(
        0,
      );
      sleeper = await startComponent({
        name: "planted-sleep",
        spec: { argv: ["sleep", "600"] },
        namespace: host.namespace,
        stateDir: dir,
        logFile: componentLogFile(lab.state.labDir, "planted-sleep"),
        cgroups: agent.cgroups,
      });
      await mkdir(podDir, { recursive: true });

      const leaks = leaksBetween(baseline, await snapshotLab(lab.state.labDir));
      expect(new Set(leaks.map((l) => l.host))).toEqual(new Set([node]));
      const keys = leaks.map((l) => `${l.category} ${l.key}`);
      expect(keys.filter((k) => k.startsWith("netns "))).toHaveLength(1);
      expect(keys).toEqual(
        expect.arrayContaining([
          "link plantveth veth",
          "link plantpeer veth",
          "link plantbridge bridge",
          `cgroup ${node}/planted`,
          `mount ${netnsFile} nsfs`,
          `mount ${mountPoint} tmpfs`,
          "nft table inet planted",
          "nft chain inet planted input",
          "nft set inet planted blocked",
          'nft element inet planted blocked "10.9.9.9"',
          `state pods/${podDir.split("/").pop()}`,
        ]),
      );
      expect(keys.some((k) => k.startsWith("nft rule inet planted input "))).toBe(true);
      const process = leaks.find((l) => l.category === "process");
      expect(process?.key).toBe(`${node}: sleep 600`);
      expect(process?.details).toEqual([expect.stringMatching(new RegExp(`^pid ${sleeper.record.pid},`))]);
      console.log(describeLeaks(leaks).join("\n"));
    } finally {
      if (sleeper) await stopProcesses([sleeper.record], 0);
      await inHost("nft", "delete", "table", "inet", "planted");
      await inHost("ip", "link", "del", "plantveth");
      await inHost("ip", "link", "del", "plantbridge");
      await runCommand(["umount", mountPoint]);
      await runCommand(["umount", netnsFile]);
      await rm(netnsFile, { force: true });
      await rm(mountPoint, { recursive: true, force: true });
      await rm(podDir, { recursive: true, force: true });
      await rmdir(cgroup).catch(() => undefined);
    }
    const after = await leaksAfterSettling(lab.state.labDir, baseline, 30_000);
    expect(describeLeaks(after.leaks)).toEqual([]);
  });

  it("reports a pod identity run on two hosts at once, and not one moved between them", async () => {
    const ns = "twice";
    const checker = await startAtMostOneChecker(lab.state.labDir, lab.config);
    const runningOn = async (node: string) => {
      const [pod] = await pods(ns);
      if (!pod || pod.spec.nodeName !== node || !ready(pod)) return undefined;
      return (await shimsOn(lab, node)).some((s) => s.id.startsWith(pod.metadata.uid))
        ? pod.metadata.uid
        : undefined;
    };
    let report: Awaited<ReturnType<typeof checker.stop>> | undefined;
    try {
      expect((await lab.kctl("create", "namespace", ns)).code).toBe(0);
      // A graceful move: deleted from node2, and only once gone, created on node3.
      expect((await lab.apply(soloOn(ns, "node2"))).code).toBe(0);
      await eventually("solo runs on node2", () => runningOn("node2"), 120_000);
      expect((await lab.kctl("delete", "pod", "solo", "-n", ns)).code).toBe(0);
      await eventually("solo gone", async () => ((await pods(ns)).length === 0 ? true : undefined), 60_000);
      expect((await lab.apply(soloOn(ns, "node3"))).code).toBe(0);
      const first = await eventually("solo runs on node3", () => runningOn("node3"), 120_000);

      // The double: node3's agent dies (its containers stay), the pod is force-deleted from the API
      // and created again on node2, while node3 still runs the old copy.
      const agent = (await readLabState(lab.state.labDir))!.processes.find((p) => p.name === "node3")!;
      process.kill(agent.pid, "SIGKILL");
      expect((await lab.kctl("delete", "pod", "solo", "-n", ns, "--grace-period=0")).code).toBe(0);
      await eventually("solo gone", async () => ((await pods(ns)).length === 0 ? true : undefined), 60_000);
      expect((await lab.apply(soloOn(ns, "node2"))).code).toBe(0);
      await eventually("solo runs on node2 again", () => runningOn("node2"), 120_000);
      expect((await shimsOn(lab, "node3")).some((s) => s.id.startsWith(first))).toBe(true);
      await new Promise((r) => setTimeout(r, 1_000));

      // node3's agent back: it removes the copy the API no longer binds to it.
      await lab.crashAndRestart("node3");
      await eventually(
        "node3 runs no copy",
        async () => ((await shimsOn(lab, "node3")).some((s) => s.id.startsWith(first)) ? undefined : true),
        60_000,
      );
    } finally {
      report = await checker.stop();
      await lab.kctl("delete", "namespace", ns);
    }
    console.log(JSON.stringify(report));
    expect(report.identities).toEqual([`${ns}/solo`]);
    expect(report.overlaps).toHaveLength(1);
    expect(report.overlaps[0]).toMatchObject({ identity: `${ns}/solo`, certain: true });
    expect(new Set(report.overlaps[0]!.hosts)).toEqual(new Set(["node2", "node3"]));
    expect(report.overlaps[0]!.toMs - report.overlaps[0]!.fromMs).toBeGreaterThan(1_000);
  });
});
