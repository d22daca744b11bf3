/**
 * Losing a host, with the default failure detection (8 s grace, 8 s eviction; agents fence at 10 s,
 * controlplane/controllers/node-lifecycle/README.md). First a host lost for good: its agent and
 * containers killed with SIGKILL and its link cut; its pods are replaced on the other hosts and the
 * Service keeps answering. Then a partition: a host's link cut with its agent and containers
 * alive; the agent fences (its containers are gone, checked on the host) before the control plane
 * even creates the replacements of its at-most-one pods, which then run on the last host; and once
 * the link is back, the host runs none of the old pods again.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { componentsFor } from "../kctl/lab/components.js";
import { downLab, eventually, isRoot, type LabCluster, startLabCluster } from "./support/lab-cluster.js";
import { loseHost, shimsOn } from "./support/lose-host.js";

const root = join(import.meta.dirname, "..");

interface PodList {
  items: {
    metadata: { name: string; uid: string; creationTimestamp: string; deletionTimestamp?: string };
    spec: { nodeName?: string };
    status?: { conditions?: { type: string; status: string }[] };
  }[];
}

/**
 * Two replicas that each ask never to run in two places (api/at-most-one.ts). Their 0 s toleration
 * of unreachable would have them force-deleted at the 8 s grace, before the agent's 10 s fence;
 * asking for at most one holds the deletion to grace + eviction (16 s).
 */
const single = `
apiVersion: v1
kind: Namespace
metadata: {name: fence}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: single, namespace: fence}
spec:
  replicas: 2
  selector: {matchLabels: {app: single}}
  template:
    metadata:
      labels: {app: single}
      annotations: {kctl.io/at-most-one: "true"}
    spec:
      terminationGracePeriodSeconds: 30
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 0}
      containers:
      - name: main
        image: kctl.local/busybox:debian
        command: ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"]
`;

/** Whether `pid` runs (a zombie has stopped running). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

describe.skipIf(!isRoot)("losing a host", { timeout: 240_000 }, () => {
  let lab: LabCluster;
  const lostHosts: string[] = [];
  beforeAll(async () => {
    lab = await startLabCluster("loss", 3, componentsFor("all"));
  });
  afterAll(downLab(() => lab));

  const readyPods = async (namespace: string, selector: string) => {
    const res = await lab.kctl("get", "pods", "-n", namespace, "-l", selector, "-o", "json");
    return (JSON.parse(res.stdout) as PodList).items.filter(
      (p) =>
        !p.metadata.deletionTimestamp &&
        p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
    );
  };
  const readyWeb = () => readyPods("demo", "app=web");
  it("replaces the lost host's pods on the others, and the Service keeps answering", async () => {
    expect(
      (
        await lab.kctl(
          "apply",
          "-f",
          join(root, "manifests", "00-namespace.yaml"),
          "-f",
          join(root, "manifests", "web.yaml"),
        )
      ).code,
    ).toBe(0);
    await eventually("3 ready", async () => ((await readyWeb()).length === 3 ? true : undefined), 90_000);
    const lost = (await readyWeb())[0]!.spec.nodeName!;
    await loseHost(lab, lost);
    lostHosts.push(lost);

    const replaced = await eventually(
      "pods replaced elsewhere",
      async () => {
        const ready = await readyWeb();
        return ready.length === 3 && ready.every((p) => p.spec.nodeName !== lost) ? ready : undefined;
      },
      90_000,
    );
    expect(replaced).toHaveLength(3);
    const nodes = await lab.kctl("get", "node", lost, "-o", "json");
    expect(nodes.stdout).toContain("node.kubernetes.io/unreachable");

    const svc = JSON.parse((await lab.kctl("get", "service", "web", "-n", "demo", "-o", "json")).stdout) as {
      spec: { clusterIP: string };
    };
    const survivor = lab.state.nodes.find((n) => n.name !== lost)!.name;
    for (let i = 0; i < 10; i++) {
      const res = await lab.httpGet(survivor, `http://${svc.spec.clusterIP}/`);
      expect(res.code).toBe(0);
    }
  });

  it("fences a partitioned host's pods before their replacements exist, and never runs them twice", async () => {
    const gone = lostHosts[0];
    expect(gone).toBeDefined();
    expect((await lab.apply(single)).code).toBe(0);
    const before = await eventually(
      "2 single pods ready",
      async () => {
        const ready = await readyPods("fence", "app=single");
        return ready.length === 2 ? ready : undefined;
      },
      90_000,
    );
    const cut = before[0]!.spec.nodeName!;
    const shims = await shimsOn(lab, cut);
    expect(shims.length).toBeGreaterThan(0);
    const oldUids = new Set(before.filter((p) => p.spec.nodeName === cut).map((p) => p.metadata.uid));
    const cutAt = Date.now();
    expect((await lab.onNode(cut, "ip", "link", "set", "eth0", "down")).code).toBe(0);
    // When the API first shows each old pod not Ready while it still exists (the node lifecycle
    // controller marks a silent node's pods at the grace period, before their eviction).
    const notReadyAt = new Map<string, number>();
    let watching = true;
    const watchReady = (async () => {
      while (watching) {
        const res = await lab.kctl("get", "pods", "-n", "fence", "-o", "json");
        const now = Date.now();
        for (const p of (JSON.parse(res.stdout) as PodList).items) {
          const ready = p.status?.conditions?.find((c) => c.type === "Ready")?.status;
          if (oldUids.has(p.metadata.uid) && ready === "False" && !notReadyAt.has(p.metadata.uid))
            notReadyAt.set(p.metadata.uid, now);
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    })();

    // The agent and its containers live on; only the fence may stop them.
    const fencedAt = await eventually(
      "the cut host's containers fenced",
      async () => (shims.every((s) => !alive(s.pid)) ? Date.now() : undefined),
      60_000,
      100,
    );
    expect(alive(lab.state.processes.find((p) => p.name === cut)!.pid)).toBe(true);
    const replaced = await eventually(
      "single pods replaced on the last host",
      async () => {
        const ready = await readyPods("fence", "app=single");
        return ready.length === 2 && ready.every((p) => p.spec.nodeName !== cut) ? ready : undefined;
      },
      90_000,
      200,
    );
    const readyAt = Date.now();
    watching = false;
    await watchReady;
    const replacements = replaced.filter((p) => !before.some((b) => b.metadata.uid === p.metadata.uid));
    // Not Ready (so out of every Service) while they still existed, before any replacement.
    expect([...notReadyAt.keys()].sort()).toEqual([...oldUids].sort());
    for (const p of replacements)
      for (const at of notReadyAt.values())
        expect(at).toBeLessThan(Date.parse(p.metadata.creationTimestamp) + 1000);
    expect(replacements.length).toBe(oldUids.size);
    // creationTimestamp has whole seconds, rounded down: the fence must come before even that.
    for (const p of replacements) expect(fencedAt).toBeLessThan(Date.parse(p.metadata.creationTimestamp));
    console.log(
      `partition of ${cut}: containers fenced ${((fencedAt - cutAt) / 1000).toFixed(1)} s after the cut, ` +
        `not Ready in the API after ${[...notReadyAt.values()].map((at) => ((at - cutAt) / 1000).toFixed(1)).join(", ")} s, ` +
        `replacements Ready after ${((readyAt - cutAt) / 1000).toFixed(1)} s ` +
        `(created ${replacements.map((p) => ((Date.parse(p.metadata.creationTimestamp) - cutAt) / 1000).toFixed(0)).join(", ")} s after)`,
    );

    expect((await lab.onNode(cut, "ip", "link", "set", "eth0", "up")).code).toBe(0);
    await eventually(
      "the cut host Ready again",
      async () => {
        const res = await lab.kctl("get", "node", cut, "-o", "json");
        const node = JSON.parse(res.stdout) as {
          status?: { conditions?: { type: string; status: string }[] };
        };
        return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")
          ? true
          : undefined;
      },
      90_000,
    );
    // Back in touch, the host must not start the old pods again: their objects are gone.
    await new Promise((r) => setTimeout(r, 5_000));
    const back = await shimsOn(lab, cut);
    expect(back.filter((s) => alive(s.pid) && [...oldUids].some((uid) => s.id.includes(uid)))).toEqual([]);
  });
});
