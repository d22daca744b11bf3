/**
 * DaemonSets and PodDisruptionBudgets on a 3-host lab, driven by stock kubectl (v1.32) where it has
 * the verb and by kctl otherwise: a DaemonSet runs one pod per host, including a host that joins
 * after it was created; an image update rolls out (`kubectl rollout status`) and `rollout undo`
 * brings the old image back; a drain is held by a budget until a replacement is Ready; bad input is
 * refused naming the field.
 *
 * The lab has no way to add a fourth host, so "a host joins later" is node3 leaving the cluster
 * (its Node deleted) and its agent restarting, which registers it anew: to the DaemonSet controller
 * that is a node appearing, as for a new host.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { componentsFor } from "../kctl/lab/components.js";
import { busyboxImageNames } from "../node-agent/runtime/images/index.js";
import { downLab, eventually, isRoot, type LabCluster, startLabCluster } from "./support/lab-cluster.js";

const kubectlPath = "/usr/bin/kubectl";
if (!existsSync(kubectlPath)) console.warn(`e2e/daemonset: skipped, ${kubectlPath} is missing`);

interface PodList {
  items: {
    metadata: { name: string; deletionTimestamp?: string };
    spec: { nodeName?: string; containers: { image: string }[] };
    status?: { conditions?: { type: string; status: string }[] };
  }[];
}

const agent = (labels: Record<string, string>) => ({
  apiVersion: "apps/v1",
  kind: "DaemonSet",
  metadata: { name: "agent", namespace: "default" },
  spec: {
    selector: { matchLabels: { app: "agent" } },
    template: {
      metadata: { labels },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{ name: "main", image: "kctl.local/busybox:debian", command: ["sleep", "3600"] }],
      },
    },
  },
});

const web = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "default" },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{ name: "main", image: "kctl.local/busybox:debian", command: ["sleep", "3600"] }],
      },
    },
  },
};

const budget = (spec: Record<string, unknown>) => ({
  apiVersion: "policy/v1",
  kind: "PodDisruptionBudget",
  metadata: { name: "web", namespace: "default" },
  spec: { selector: { matchLabels: { app: "web" } }, ...spec },
});

describe.skipIf(!isRoot || !existsSync(kubectlPath))(
  "DaemonSets and disruption budgets on a lab",
  { timeout: 900_000 },
  () => {
    let lab: LabCluster;
    let dir: string;

    const kubectl = (args: string[], timeout = 120_000) =>
      new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
        const child = execFile(
          kubectlPath,
          ["--kubeconfig", lab.config, "-n", "default", ...args],
          { env: { ...process.env, HOME: dir }, timeout },
          (err, stdout, stderr) =>
            resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 }),
        );
        child.stdin!.end();
      });

    const file = async (name: string, obj: unknown) => {
      const path = join(dir, name);
      await writeFile(path, JSON.stringify(obj));
      return path;
    };

    /** The Ready, not terminating pods of `app`. */
    const readyPods = async (app: string) => {
      const res = await lab.kctl("get", "pods", "-n", "default", "-l", `app=${app}`, "-o", "json");
      return (JSON.parse(res.stdout) as PodList).items.filter(
        (p) =>
          !p.metadata.deletionTimestamp &&
          p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      );
    };

    /** Waits until `app` has exactly one Ready pod on each of `nodes`, each running `image`. */
    const onEachNode = (app: string, nodes: string[], image: string, timeoutMs = 180_000) =>
      eventually(
        `one Ready ${app} pod with ${image} on each of ${nodes.join(", ")}`,
        async () => {
          const pods = await readyPods(app);
          const placed = pods.map((p) => p.spec.nodeName).sort();
          const images = new Set(pods.map((p) => p.spec.containers[0]!.image));
          return JSON.stringify(placed) === JSON.stringify(nodes) && images.size === 1 && images.has(image)
            ? true
            : undefined;
        },
        timeoutMs,
      );

    // Three hosts take minutes to come up on a busy 2-core machine.
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "kctl-e2e-ds-"));
      lab = await startLabCluster("ds", 3, componentsFor("all"), 240_000);
    }, 300_000);
    afterAll(
      downLab(() => lab),
      120_000,
    );
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it("runs one pod on every host, and gives a host that joins later its pod", async () => {
      const applied = await kubectl(["apply", "-f", await file("agent.json", agent({ app: "agent" }))]);
      expect(applied).toMatchObject({ code: 0, stdout: "daemonset.apps/agent created\n" });
      await onEachNode("agent", ["node1", "node2", "node3"], "kctl.local/busybox:debian");
      const row = await kubectl(["get", "daemonset", "agent", "--no-headers"]);
      expect(row.stdout.split(/\s+/).slice(0, 6)).toEqual(["agent", "3", "3", "3", "3", "3"]);

      expect((await lab.kctl("delete", "node", "node3")).code).toBe(0);
      await onEachNode("agent", ["node1", "node2"], "kctl.local/busybox:debian");
      await lab.crashAndRestart("node3");
      await onEachNode("agent", ["node1", "node2", "node3"], "kctl.local/busybox:debian");
    });

    it("rolls a new image out node by node (kubectl rollout status) and rollout undo brings the old one back", async () => {
      // Every host holds the project's busybox image under two names: kctl.local/busybox:debian and
      // busybox:<version>. Switching names is an image update whose new pods start without a pull.
      const [versioned] = await busyboxImageNames();
      expect((await kubectl(["set", "image", "daemonset/agent", `main=${versioned}`])).code).toBe(0);
      const rolled = await kubectl(["rollout", "status", "daemonset/agent", "--timeout=240s"], 260_000);
      expect(rolled.stderr).toBe("");
      expect(rolled.stdout).toContain('daemon set "agent" successfully rolled out');
      await onEachNode("agent", ["node1", "node2", "node3"], versioned!, 30_000);

      const history = await kubectl(["rollout", "history", "daemonset/agent"]);
      expect(history.stdout).toMatch(/REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
      const undone = await kubectl(["rollout", "undo", "daemonset/agent"]);
      expect(undone).toMatchObject({ code: 0, stdout: "daemonset.apps/agent rolled back\n" });
      const back = await lab.kctl("rollout", "status", "daemonset/agent", "--timeout", "240s");
      expect(back.code).toBe(0);
      expect(back.stdout).toContain('daemon set "agent" successfully rolled out');
      await onEachNode("agent", ["node1", "node2", "node3"], "kctl.local/busybox:debian", 30_000);
      // The old template came back as revision 3: renumbered, not copied.
      expect((await lab.kctl("rollout", "history", "daemonset/agent")).stdout).toMatch(
        /2\s+<none>\n3\s+<none>/,
      );
    });

    it("a drain is held by a PodDisruptionBudget and proceeds once a replacement is Ready", async () => {
      expect((await kubectl(["apply", "-f", await file("web.json", web)])).code).toBe(0);
      expect((await kubectl(["apply", "-f", await file("pdb.json", budget({ minAvailable: 2 }))])).code).toBe(
        0,
      );
      const pods = await eventually(
        "2 Ready web pods",
        async () => {
          const ready = await readyPods("web");
          return ready.length === 2 ? ready : undefined;
        },
        120_000,
      );
      await eventually("the budget to allow no disruption", async () => {
        const res = await kubectl(["get", "pdb", "web", "--no-headers"]);
        return /^web\s+2\s+N\/A\s+0\s/.test(res.stdout) ? true : undefined;
      });
      const node = pods[0]!.spec.nodeName!;
      const victims = pods.filter((p) => p.spec.nodeName === node).map((p) => p.metadata.name);

      let done = false;
      const draining = kubectl(["drain", node, "--ignore-daemonsets", "--timeout=300s"], 320_000).finally(
        () => {
          done = true;
        },
      );
      // Held: the budget says 0, so the eviction keeps being refused and the pod stays.
      await new Promise((r) => setTimeout(r, 12_000));
      expect(done).toBe(false);
      expect((await readyPods("web")).map((p) => p.metadata.name)).toEqual(expect.arrayContaining(victims));

      // A third replica, placed elsewhere (the node is cordoned), makes room for one disruption.
      expect((await kubectl(["scale", "deployment/web", "--replicas=3"])).code).toBe(0);
      const drained = await draining;
      expect(drained.stderr).toContain("Cannot evict pod as it would violate the pod's disruption budget.");
      expect(drained.stderr).toContain("will retry after 5s");
      expect(drained.stdout).toContain(`node/${node} drained`);
      expect(drained.code).toBe(0);
      const left = await kubectl(["get", "pods", "-o", "json", "--field-selector", `spec.nodeName=${node}`]);
      const names = (JSON.parse(left.stdout) as PodList).items.map((p) => p.metadata.name);
      expect(names.some((n) => n.startsWith("web-"))).toBe(false);
      // --ignore-daemonsets left the daemon pod running there.
      expect(names.some((n) => n.startsWith("agent-"))).toBe(true);
      expect((await readyPods("web")).length).toBeGreaterThanOrEqual(2);
      expect((await kubectl(["uncordon", node])).code).toBe(0);
    });

    it("refuses a DaemonSet whose selector misses its labels and a budget with both bounds, naming the field", async () => {
      const ds = await lab.apply(
        JSON.stringify({ ...agent({ app: "other" }), metadata: { name: "bad", namespace: "default" } }),
      );
      expect(ds.code).not.toBe(0);
      expect(ds.stderr).toContain("spec.template.metadata.labels");
      expect(ds.stderr).toContain("`selector` does not match template `labels`");
      const pdb = await lab.apply(
        JSON.stringify({
          ...budget({ minAvailable: 1, maxUnavailable: 1 }),
          metadata: { name: "both", namespace: "default" },
        }),
      );
      expect(pdb.code).not.toBe(0);
      expect(pdb.stderr).toContain("minAvailable and maxUnavailable cannot be both set");
      expect((await lab.kctl("get", "daemonset", "bad", "-n", "default")).code).not.toBe(0);
      expect((await lab.kctl("get", "pdb", "both", "-n", "default")).code).not.toBe(0);
    });
  },
);
