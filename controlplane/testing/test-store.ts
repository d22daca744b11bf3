/**
 * A real etcd with a Store and a Registry over it, for tests of modules that sit on the API's
 * storage (informers, events, the node service). `stop()` closes them and removes etcd's data.
 */
import { Etcd3 } from "etcd3";
import { Registry as MetricsRegistry } from "prom-client";
import { Registry } from "../registry/index.js";
import { Store } from "../store/index.js";
import { type EtcdServer, startEtcd } from "./etcd-server.js";

export interface TestStore {
  etcd: EtcdServer;
  client: Etcd3;
  store: Store;
  registry: Registry;
  stop(): Promise<void>;
}

export async function startTestStore(): Promise<TestStore> {
  const etcd = await startEtcd();
  const client = new Etcd3({ hosts: etcd.endpoint });
  const store = new Store({ client, metrics: new MetricsRegistry() });
  const registry = new Registry({ store });
  await registry.ensureSystemNamespaces();
  return {
    etcd,
    client,
    store,
    registry,
    stop: async () => {
      store.close();
      client.close();
      await etcd.stop();
    },
  };
}
