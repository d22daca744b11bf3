/**
 * Benchmark of the scheduler core alone (no etcd, no apiserver): N Ready nodes, M pending pods
 * with requests and controller owners, bindings answered at once and echoed back as watch updates.
 * It bounds what the end-to-end benchmark can reach; the target (1000 pods/s at 5000 nodes)
 * is measured end to end through etcd by the integrator's benchmark.
 *
 *   node dist/controlplane/scheduler/testing/core-bench.js [nodes] [pods] [out.json] [--anti-affinity]
 *
 * With --anti-affinity every pod also refuses to share a node with pods of its own controller.
 */
import { writeFileSync } from "node:fs";
import { type DeepReadonly, deepFreeze } from "../../../foundation/api/readonly.js";
import type { Node, Pod } from "../../../proto/gen/api.js";
import type { EventHandler } from "../../client/informer.js";
import { type InformerSource, Scheduler, type SchedulerBackend } from "../scheduler.js";
import { makeNode, makePod } from "./fixtures.js";

class DirectSource<T> implements InformerSource<T> {
  handlers: EventHandler<T>[] = [];
  addEventHandler(h: EventHandler<T>): () => void {
    this.handlers.push(h);
    return () => {
      this.handlers = this.handlers.filter((x) => x !== h);
    };
  }
  async waitForSync(): Promise<void> {}
  add(obj: DeepReadonly<T>): void {
    for (const h of this.handlers) h.onAdd?.(obj);
  }
  update(old: DeepReadonly<T>, obj: DeepReadonly<T>): void {
    for (const h of this.handlers) h.onUpdate?.(old, obj);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => a !== "--anti-affinity");
  const antiAffinity = process.argv.includes("--anti-affinity");
  const numNodes = Number(args[0] ?? 5000);
  const numPods = Number(args[1] ?? 10_000);
  const out = args[2];
  if (!(numNodes > 0 && numPods > 0))
    throw new Error(`usage: core-bench [nodes > 0] [pods > 0] [out.json] [--anti-affinity]`);
  const pods = new DirectSource<Pod>();
  const nodes = new DirectSource<Node>();
  let bound = 0;
  let finish: () => void = () => {};
  const allBound = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const backend: SchedulerBackend = {
    pods,
    nodes,
    async bind(pod, nodeName) {
      // Echo the binding as the watch would, one turn later.
      setImmediate(() => {
        pods.update(pod, deepFreeze({ ...pod, spec: { ...pod.spec, nodeName } }) as DeepReadonly<Pod>);
        if (++bound === numPods) finish();
      });
    },
    async setCondition() {},
    recordEvent() {},
  };
  const scheduler = new Scheduler({ backend });
  const ac = new AbortController();
  const running = scheduler.run(ac.signal);
  for (let i = 0; i < numNodes; i++) {
    nodes.add(
      deepFreeze(
        makeNode(`node-${i}`, { cpu: "32", memory: "128Gi", pods: "110", labels: { zone: `z${i % 3}` } }),
      ),
    );
  }
  const heapBefore = process.memoryUsage().heapUsed;
  const start = performance.now();
  for (let i = 0; i < numPods; i++) {
    const app = `rs-${i % 100}`;
    const pod = makePod(`pod-${i}`, {
      cpu: "100m",
      memory: "128Mi",
      owner: app,
      labels: { app },
      ...(antiAffinity && {
        antiAffinity: [{ labelSelector: { matchLabels: { app } }, topologyKey: "kubernetes.io/hostname" }],
      }),
    });
    pods.add(deepFreeze(pod));
  }
  await allBound;
  const seconds = (performance.now() - start) / 1000;
  ac.abort();
  await running;
  const result = {
    benchmark: "scheduler-core",
    antiAffinity,
    nodes: numNodes,
    pods: numPods,
    seconds: Number(seconds.toFixed(3)),
    podsPerSecond: Math.round(numPods / seconds),
    heapGrowthMiB: Math.round((process.memoryUsage().heapUsed - heapBefore) / 2 ** 20),
    rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
  };
  const text = JSON.stringify(result);
  if (out) writeFileSync(out, `${text}\n`);
  process.stdout.write(`${text}\n`);
}

await main();
