import { describe, expect, it } from "vitest";
import type { WatchEvent } from "../../../foundation/api/watch.js";
import type { Deployment, Pod, ReplicaSet } from "../../../proto/gen/api.js";
import {
  byOwnerUid,
  byOwnerUidIndex,
  type IndexFunc,
  type Informer,
  type ListerWatcher,
  ListWatchInformer,
} from "../../client/index.js";
import { podsResource, replicaSetsResource } from "../replicaset/controller.js";
import { startReplicaSetController } from "../replicaset/start.js";
import { FakeCluster } from "../testing/fake-cluster.js";
import { deployment } from "../testing/fixtures.js";
import { startDeploymentController } from "./start.js";
import { deploymentsResource } from "./sync.js";

/** A ListerWatcher serving `items` once; later events come from `push`. */
function staticSource<T>(items: T[]) {
  let emit: ((e: WatchEvent<T>) => void) | undefined;
  const lw: ListerWatcher<T> = {
    list: async () => ({ items: structuredClone(items), resourceVersion: "1" }),
    watch: (_rv, onEvent) => {
      emit = onEvent;
      return { close: () => (emit = undefined) };
    },
  };
  return { lw, push: (e: WatchEvent<T>) => emit?.(e) };
}

/** A started informer over `items` with the byOwnerUid index, as the shared factory makes them. */
function informerOf<T extends Pod | ReplicaSet | Deployment>(name: string, items: T[]): ListWatchInformer<T> {
  const informer = new ListWatchInformer<T>(staticSource(items).lw, {
    name,
    indexers: { [byOwnerUidIndex]: byOwnerUid as unknown as IndexFunc<T> },
  });
  informer.start();
  return informer;
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
}

describe("controller start functions", () => {
  it("wire informers, handlers and workers, and stop on abort", async () => {
    const cluster = new FakeCluster({ autoFlush: true });
    const d = deployment("web", { replicas: 2, uid: "d-1" });
    cluster.seed(deploymentsResource, d);
    const abort = new AbortController();
    const deps = { client: cluster.client, recorder: cluster.recorder, signal: abort.signal };
    const informers: ListWatchInformer<Pod | ReplicaSet | Deployment>[] = [];
    const made = <T extends Pod | ReplicaSet | Deployment>(name: string, items: T[]) => {
      const informer = informerOf(name, items);
      informers.push(informer as unknown as ListWatchInformer<Pod | ReplicaSet | Deployment>);
      return informer;
    };
    try {
      const dep = startDeploymentController({
        ...deps,
        deployments: made<Deployment>("deployments", [d]),
        replicaSets: made<ReplicaSet>("replicasets", []),
        pods: made<Pod>("pods", []),
      });
      await until(() => cluster.actions.some((a) => a.verb === "create" && a.resource === "replicasets"));
      const rs = cluster.storedList<ReplicaSet>(replicaSetsResource)[0]!;
      const rsc = startReplicaSetController({
        ...deps,
        replicaSets: made<ReplicaSet>("replicasets", [rs]),
        pods: made<Pod>("pods", []),
      });
      await until(
        () => cluster.actions.filter((a) => a.verb === "create" && a.resource === "pods").length === 2,
      );
      abort.abort();
      await Promise.all([dep.done, rsc.done]);
      expect(cluster.stored<Deployment>(deploymentsResource, "default/web")?.status?.observedGeneration).toBe(
        1,
      );
      expect(cluster.storedList<Pod>(podsResource).map((p) => p.metadata.generateName)).toEqual([
        `${rs.metadata.name}-`,
        `${rs.metadata.name}-`,
      ]);
    } finally {
      for (const informer of informers) informer.stop();
    }
  });

  it("refuses an informer without the byOwnerUid index, naming it, before registering any handler", () => {
    const cluster = new FakeCluster();
    const bare = new ListWatchInformer<Pod>(staticSource<Pod>([]).lw, { name: "pods" });
    const deployments = informerOf<Deployment>("deployments", []);
    const replicaSets = informerOf<ReplicaSet>("replicasets", []);
    let registered = 0;
    const counted: Informer<Deployment> = Object.assign(Object.create(deployments), {
      addEventHandler: (...args: Parameters<Informer<Deployment>["addEventHandler"]>) => {
        registered++;
        return deployments.addEventHandler(...args);
      },
    });
    try {
      expect(() =>
        startDeploymentController({
          client: cluster.client,
          recorder: cluster.recorder,
          signal: new AbortController().signal,
          deployments: counted,
          replicaSets,
          pods: bare,
        }),
      ).toThrow('no index named "byOwnerUid"');
      expect(registered).toBe(0);
    } finally {
      deployments.stop();
      replicaSets.stop();
    }
  });
});
