/**
 * DaemonSet rollout benchmark (a script, not a test): a real control plane in its own process
 * (../support/plane-process.ts, as the scheduler benchmark's), N hollow nodes registered over NodeService from
 * this process (they report each bound pod Running and Ready and finalize deleted ones, as agents
 * do), then one DaemonSet. It measures, per run, from the API write to the DaemonSet's status
 * saying done (what `kubectl rollout status` waits for: observedGeneration caught up, every desired
 * node updated and available):
 *  - the first rollout: a pod on every node;
 *  - an image update under each strategy: maxUnavailable 1 (the default), maxUnavailable 10%,
 *    maxSurge 10%.
 * Writes .bench/daemonset.json (with the machine it ran on) and prints the figures.
 *
 *   npm run bench:daemonset -- [--nodes 100] [--runs 1] [--out .bench/daemonset.json]
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { issueNodeCertificates, startHollowFleet } from "../../../controlplane/testing/hollow-node-fleet.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import { ensureCa, type KeyPair } from "../../../foundation/pki/pki.js";
import type { ApiClient } from "../../../kctl/client.js";
import type { DaemonSet, RollingUpdateDaemonSet } from "../../../proto/gen/api.js";
import { positiveInt } from "../support/bench-args.js";
import { startPlaneProcess } from "../support/plane-process.js";

const daemonSets = resourceForKind("apps/v1", "DaemonSet")!;
const namespaces = resourceForKind("v1", "Namespace")!;
const namespace = "bench";

const { values: args } = parseArgs({
  options: {
    nodes: { type: "string", default: "100" },
    runs: { type: "string", default: "1" },
    out: { type: "string", default: ".bench/daemonset.json" },
  },
});

const nodeCount = positiveInt("nodes", args.nodes!);
const runs = positiveInt("runs", args.runs!);

function daemonSet(image: string, rollingUpdate: RollingUpdateDaemonSet): DaemonSet {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "agent", namespace },
    spec: {
      selector: { matchLabels: { app: "agent" } },
      updateStrategy: { type: "RollingUpdate", rollingUpdate },
      template: {
        metadata: { labels: { app: "agent" } },
        spec: {
          containers: [{ name: "c", image, resources: { requests: { cpu: "10m", memory: "16Mi" } } }],
        },
      },
    },
  };
}

/** Seconds until the DaemonSet's status says its rollout is done (kubectl's DaemonSetStatusViewer). */
async function untilRolledOut(api: ApiClient, startedAt: number): Promise<number> {
  const deadline = Date.now() + 900_000;
  for (;;) {
    const ds = (await api.get(daemonSets, namespace, "agent")) as DaemonSet;
    const s = ds.status ?? {};
    const desired = s.desiredNumberScheduled ?? 0;
    if (
      (ds.metadata.generation ?? 0) <= (s.observedGeneration ?? 0) &&
      desired === nodeCount &&
      (s.updatedNumberScheduled ?? 0) === desired &&
      (s.numberAvailable ?? 0) === desired
    )
      return (performance.now() - startedAt) / 1000;
    if (Date.now() > deadline) throw new Error(`rollout not done after 15 minutes: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const strategies: { name: string; rollingUpdate: RollingUpdateDaemonSet }[] = [
  { name: "maxUnavailable 1", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
  { name: "maxUnavailable 10%", rollingUpdate: { maxUnavailable: "10%", maxSurge: 0 } },
  { name: "maxSurge 10%", rollingUpdate: { maxUnavailable: 0, maxSurge: "10%" } },
];

async function runOnce(caDir: string, certificates: Map<string, KeyPair>) {
  const plane = await startPlaneProcess({
    caDir,
    prefix: "kctl-ds-bench-",
    options: { port: 0, listenHost: "127.0.0.1", clusterCidr: "10.0.0.0/8" },
  });
  const api = plane.client(namespace);
  let fleet: Awaited<ReturnType<typeof startHollowFleet>> | undefined;
  try {
    fleet = await startHollowFleet({
      stateDir: plane.stateDir,
      nodeServiceAddress: plane.info.nodeServiceAddress,
      nodes: nodeCount,
      prefix: "hollow",
      certificates,
      wave: 8,
    });
    for (const [k, v] of fleet.certificates) certificates.set(k, v);
    await api.create(namespaces, undefined, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: namespace },
    });
    const createdAt = performance.now();
    await api.create(daemonSets, namespace, daemonSet("pause:1", strategies[0]!.rollingUpdate));
    const firstRolloutSeconds = await untilRolledOut(api, createdAt);
    process.stdout.write(`  first rollout to ${nodeCount} nodes: ${firstRolloutSeconds.toFixed(1)}s\n`);
    const updates: { strategy: string; seconds: number }[] = [];
    for (const [i, s] of strategies.entries()) {
      const ds = (await api.get(daemonSets, namespace, "agent")) as DaemonSet;
      ds.spec!.updateStrategy = { type: "RollingUpdate", rollingUpdate: s.rollingUpdate };
      ds.spec!.template!.spec!.containers![0]!.image = `pause:${i + 2}`;
      const startedAt = performance.now();
      await api.update(daemonSets, namespace, ds as Parameters<ApiClient["update"]>[2]);
      const seconds = await untilRolledOut(api, startedAt);
      process.stdout.write(`  image update, ${s.name}: ${seconds.toFixed(1)}s\n`);
      updates.push({ strategy: s.name, seconds });
    }
    return { nodes: nodeCount, firstRolloutSeconds, updates };
  } finally {
    fleet?.stop();
    api.close();
    await plane.stop();
  }
}

const caDir = await mkdtemp(join(tmpdir(), "kctl-ds-bench-ca-"));
try {
  const names = Array.from({ length: nodeCount }, (_, i) => `hollow-${i}`);
  const certificates = await issueNodeCertificates(await ensureCa(caDir), names);
  const results = [];
  for (let r = 0; r < runs; r++) {
    process.stdout.write(`run ${r + 1}/${runs}, ${nodeCount} hollow nodes\n`);
    results.push(await runOnce(caDir, certificates));
  }
  const machine = {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    date: new Date().toISOString(),
  };
  await mkdir(dirname(args.out!), { recursive: true });
  await writeFile(args.out!, `${JSON.stringify({ machine, runs: results }, null, 2)}\n`);
  process.stdout.write(`wrote ${args.out}\n`);
} finally {
  await rm(caDir, { recursive: true, force: true });
}
