/**
 * Scheduler throughput through a real etcd, before the registry exists: the store persists Nodes
 * and Pods, informers follow them through store watches, and a binding is a read-modify-write of
 * spec.nodeName (what the `binding` subresource will do). Measures pods per second from the first
 * pod's creation until every pod is seen bound by the watch, and the process's resident memory.
 *
 *   node dist/controlplane/scheduler/testing/etcd-bench.js [nodes] [pods] [out.json] [--preload]
 *
 * With --preload all pods exist before the scheduler starts, and the clock starts with it: the
 * scheduler's own rate through etcd, without pod creation competing for the same process.
 */
import { writeFileSync } from "node:fs";
import { Etcd3 } from "etcd3";
import { Registry } from "prom-client";
import type { KubeObject } from "../../../foundation/api/object.js";
import { resourceForPlural } from "../../../foundation/api/resources.js";
import type { Node, Pod } from "../../../proto/gen/api.js";
import { ListWatchInformer } from "../../client/informer.js";
import { storeListerWatcher } from "../../client/informer-factory.js";
import { Store } from "../../store/store.js";
import { startEtcd } from "../../testing/etcd-server.js";
import { Scheduler } from "../scheduler.js";
import { makeNode, makePod } from "./fixtures.js";

const podsInfo = resourceForPlural("", "pods")!;
const nodesInfo = resourceForPlural("", "nodes")!;

/** Runs `fn` over 0..n-1 with at most `width` calls in flight. */
async function inParallel(n: number, width: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => a !== "--preload");
  const preload = process.argv.includes("--preload");
  const numNodes = Number(args[0] ?? 5000);
  const numPods = Number(args[1] ?? 10_000);
  const out = args[2];
  if (!(numNodes > 0 && numPods > 0)) throw new Error("usage: etcd-bench [nodes > 0] [pods > 0] [out.json]");
  const etcd = await startEtcd();
  const client = new Etcd3({ hosts: etcd.endpoint });
  const store = new Store({ client, metrics: new Registry() });
  const nodes = new ListWatchInformer<Node>(storeListerWatcher(store, nodesInfo), { name: "nodes" });
  const pods = new ListWatchInformer<Pod>(storeListerWatcher(store, podsInfo), { name: "pods" });
  const ac = new AbortController();
  try {
    await inParallel(numNodes, 100, (i) =>
      store.create(nodesInfo, makeNode(`node-${i}`, { cpu: "32", memory: "128Gi" }) as unknown as KubeObject),
    );
    let bound = 0;
    let allBound: () => void = () => {};
    const done = new Promise<void>((resolve) => {
      allBound = resolve;
    });
    pods.addEventHandler({
      onUpdate: (old, pod) => {
        if (!old.spec?.nodeName && pod.spec?.nodeName && ++bound === numPods) allBound();
      },
    });
    const scheduler = new Scheduler({
      backend: {
        pods,
        nodes,
        // One compare-and-swap against the version the scheduler saw; a bind subresource can do
        // the same and fall back to read-modify-write only on Conflict.
        bind: async (pod, nodeName) => {
          await store.update(podsInfo, { ...pod, spec: { ...pod.spec, nodeName } } as unknown as KubeObject);
        },
        setCondition: async () => {},
        recordEvent: () => {},
      },
    });
    const createPods = () =>
      inParallel(numPods, 100, (i) => {
        const pod = makePod(`pod-${i}`, { cpu: "100m", memory: "128Mi", owner: `rs-${i % 100}` });
        return store.create(podsInfo, pod as unknown as KubeObject);
      });
    if (preload) await createPods();
    nodes.start();
    pods.start();
    await Promise.all([nodes.waitForSync(), pods.waitForSync()]);
    const start = performance.now();
    const running = scheduler.run(ac.signal);
    if (!preload) await createPods();
    const createdAfter = (performance.now() - start) / 1000;
    await done;
    const seconds = (performance.now() - start) / 1000;
    ac.abort();
    await running;
    const result = {
      benchmark: "scheduler-through-etcd (store, no apiserver)",
      preload,
      nodes: numNodes,
      pods: numPods,
      ...(!preload && { createSeconds: Number(createdAfter.toFixed(3)) }),
      seconds: Number(seconds.toFixed(3)),
      podsPerSecond: Math.round(numPods / seconds),
      rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
    };
    const text = JSON.stringify(result);
    if (out) writeFileSync(out, `${text}\n`);
    process.stdout.write(`${text}\n`);
  } finally {
    ac.abort();
    nodes.stop();
    pods.stop();
    store.close();
    client.close();
    await etcd.stop();
  }
}

await main();
