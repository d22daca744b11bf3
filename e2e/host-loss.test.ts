/**
 * A host lost for good: its agent and containers killed with SIGKILL and its link cut. With short
 * failure detection (6 s grace, 4 s eviction) its pods are replaced on the other hosts and the
 * Service keeps answering.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { componentsFor } from "../kctl/lab/components.js";
import {
  downLab,
  eventually,
  isRoot,
  type LabCluster,
  startLabCluster,
  withControlPlaneFlags,
} from "./support/lab-cluster.js";
import { loseHost } from "./support/lose-host.js";

const root = join(import.meta.dirname, "..");

interface PodList {
  items: {
    metadata: { deletionTimestamp?: string };
    spec: { nodeName?: string };
    status?: { conditions?: { type: string; status: string }[] };
  }[];
}

describe.skipIf(!isRoot)("losing a host", { timeout: 180_000 }, () => {
  let lab: LabCluster;
  beforeAll(async () => {
    const components = withControlPlaneFlags(
      componentsFor("all"),
      "--node-monitor-grace-period",
      "6",
      "--pod-eviction-timeout",
      "4",
    );
    lab = await startLabCluster("loss", 3, components);
  });
  afterAll(downLab(() => lab));

  const readyWeb = async () => {
    const res = await lab.kctl("get", "pods", "-n", "demo", "-l", "app=web", "-o", "json");
    return (JSON.parse(res.stdout) as PodList).items.filter(
      (p) =>
        !p.metadata.deletionTimestamp &&
        p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
    );
  };

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
});
