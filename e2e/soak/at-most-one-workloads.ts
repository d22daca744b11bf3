/**
 * The soak's pods that ask for at most one copy: a StatefulSet `db` of two (db-0, db-1; a
 * StatefulSet's pods ask by themselves) behind its headless Service, and a bare Pod `solo`
 * annotated `kctl.io/at-most-one: "true"`, applied again every 5 s as an operator's loop would, so
 * once a fault has it force-deleted it comes back under the same name on some host. The checker
 * (e2e/support/at-most-one-checker.ts) watches that no identity runs on two hosts at once.
 */
import type { LabCluster } from "../support/lab-cluster.js";

const image = "kctl.local/busybox:debian";
const reapplyMs = 5_000;

/** A container that ignores SIGTERM, so only a kill (a fence, the grace's end) stops it. */
const container = {
  name: "main",
  image,
  command: ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"],
};

export function soloPod(namespace: string): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "solo", namespace, annotations: { "kctl.io/at-most-one": "true" } },
    spec: { terminationGracePeriodSeconds: 1, containers: [container] },
  });
}

function statefulSet(namespace: string): string[] {
  return [
    JSON.stringify({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "db", namespace },
      spec: { clusterIP: "None", selector: { app: "db" }, ports: [{ port: 80 }] },
    }),
    JSON.stringify({
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "db", namespace },
      spec: {
        serviceName: "db",
        replicas: 2,
        selector: { matchLabels: { app: "db" } },
        template: {
          metadata: { labels: { app: "db" } },
          spec: { terminationGracePeriodSeconds: 1, containers: [container] },
        },
      },
    }),
  ];
}

/** Applies the workloads and keeps `solo` applied until `stop()`. */
export async function startAtMostOneWorkloads(
  lab: LabCluster,
  namespace: string,
): Promise<{ stop(): Promise<void> }> {
  for (const m of [...statefulSet(namespace), soloPod(namespace)]) {
    const res = await lab.apply(m);
    if (res.code !== 0) throw new Error(`applying the at-most-one workloads failed: ${res.stderr}`);
  }
  let running = true;
  const loop = (async () => {
    while (running) {
      await new Promise((r) => setTimeout(r, reapplyMs));
      // Refused while the old pod is terminating; the next round tries again.
      if (running) await lab.apply(soloPod(namespace));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
