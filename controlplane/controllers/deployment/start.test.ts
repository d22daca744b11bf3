import { describe, expect, it } from "vitest";
import type { Deployment, Pod, ReplicaSet } from "../../../proto/gen/api.js";
import type { WatchEvent } from "../../api/watch.js";
import { Informer, type ListerWatcher } from "../machinery/index.js";
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

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
}

describe("controller factories", () => {
  it("wire private informers, handlers and workers, and stop on abort", async () => {
    const cluster = new FakeCluster({ autoFlush: true });
    const d = deployment("web", { replicas: 2, uid: "d-1" });
    cluster.seed(deploymentsResource, d);
    const abort = new AbortController();
    const deps = { client: cluster.client, recorder: cluster.recorder, signal: abort.signal };
    const dep = startDeploymentController({
      ...deps,
      deployments: staticSource<Deployment>([d]).lw,
      replicaSets: staticSource<ReplicaSet>([]).lw,
      pods: staticSource<Pod>([]).lw,
    });
    await until(() => cluster.actions.some((a) => a.verb === "create" && a.resource === "replicasets"));
    const rs = cluster.storedList<ReplicaSet>(replicaSetsResource)[0]!;
    const rsSource = staticSource<ReplicaSet>([rs]);
    const rsc = startReplicaSetController({
      ...deps,
      replicaSets: rsSource.lw,
      pods: staticSource<Pod>([]).lw,
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
  });

  it("refuses a shared informer without the byOwnerUid index, naming it", () => {
    const cluster = new FakeCluster();
    const bare = new Informer<Pod>(staticSource<Pod>([]).lw, { name: "pods" });
    let listed = 0;
    const counted: ListerWatcher<Deployment> = {
      list: async () => {
        listed++;
        return { items: [], resourceVersion: "1" };
      },
      watch: () => ({ close: () => {} }),
    };
    expect(() =>
      startDeploymentController({
        client: cluster.client,
        recorder: cluster.recorder,
        signal: new AbortController().signal,
        deployments: counted,
        replicaSets: staticSource<ReplicaSet>([]).lw,
        pods: bare,
      }),
    ).toThrow('no index named "byOwnerUid"');
    expect(listed).toBe(0);
  });
});
