/**
 * An agent killed with -9 and started again leaves its host's Service rules and pod routes as they
 * were: the new agent's first full rebuild of the nftables table already carries every Service,
 * and no route to another host's pods is deleted on the way. (Started before its lists of
 * Services, Endpoints and Nodes had arrived, it rebuilt the table empty and deleted every route,
 * and the host reached no Service and no other host's pod until they did: seconds on a loaded
 * machine, seen in the chaos soak.) Watched with `nft monitor` and `ip monitor route` in the
 * host's namespace, so nothing depends on sampling fast enough.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downLab, eventually, isRoot, type LabCluster, startLabCluster } from "./support/lab-cluster.js";

const manifest = `
apiVersion: v1
kind: Namespace
metadata: {name: restart}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: restart}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      nodeSelector: {kubernetes.io/hostname: node1}
      containers:
      - name: httpd
        image: kctl.local/busybox:debian
        command: ["sh", "-c", "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www"]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: restart}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`;

/** Runs `argv` in a host's namespace until stopped, collecting its output. */
function monitor(netns: string, ...argv: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn("ip", ["netns", "exec", netns, ...argv], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

describe.skipIf(!isRoot)("an agent restarted on a live host", { timeout: 300_000 }, () => {
  let lab: LabCluster;

  beforeAll(async () => {
    lab = await startLabCluster("rst", 2);
  }, 240_000);
  afterAll(downLab(() => lab));

  it("keeps the host's Service rules and pod routes through the restart", async () => {
    expect((await lab.apply(manifest)).code).toBe(0);
    const clusterIP = JSON.parse(
      (await lab.kctl("get", "service", "web", "-n", "restart", "-o", "json")).stdout,
    ).spec.clusterIP as string;
    // node2 reaches the pod on node1 through the Service and its route to node1's pods.
    await eventually(
      "node2 reaches web through its ClusterIP",
      async () =>
        (await lab.httpGet("node2", `http://${clusterIP}/`)).stdout.trim() === "ok" ? true : undefined,
      120_000,
    );
    const node2 = lab.state.nodes.find((n) => n.name === "node2")!;
    const rules = monitor(node2.namespace, "nft", "monitor");
    const routes = monitor(node2.namespace, "ip", "-o", "monitor", "route");
    try {
      await lab.crashAndRestart("node2");
      // The new agent's first full rebuild deletes and recreates the table in one transaction. The
      // monitor prints a transaction's events and then its "# new generation" line, so only text
      // before such a line is a whole transaction: the tail may stop between the delete and the adds.
      const rebuild = await eventually(
        "the new agent's first rebuild of the table",
        async () =>
          rules
            .output()
            .split(/^# new generation.*$/m)
            .slice(0, -1)
            .find((t) => t.includes("delete table ip kctl")),
        60_000,
      );
      expect(rebuild).toContain(`${clusterIP} . tcp . 80`);
      // Let the rest of its start (the routes' first reconcile) happen while the monitor runs.
      await eventually(
        "node2 reaches web again after the restart",
        async () => ((await lab.httpGet("node2", `http://${clusterIP}/`)).code === 0 ? true : undefined),
        60_000,
      );
      await new Promise((r) => setTimeout(r, 3_000));
    } finally {
      rules.child.kill();
      routes.child.kill();
    }
    expect(
      routes
        .output()
        .split("\n")
        .filter((l) => l.startsWith("Deleted") && / proto 199\b/.test(l)),
    ).toEqual([]);
  });
});
