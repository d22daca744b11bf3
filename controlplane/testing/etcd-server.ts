/**
 * Starts a real etcd server for tests: its own temp data dir and free ports, stopped and removed by
 * `stop()`. Tests of the store, the apiserver and controllers run against it; there is no fake etcd.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEtcdProcess } from "../etcd/etcd-process.js";

export { freePort } from "../etcd/etcd-process.js";

export interface EtcdServer {
  endpoint: string;
  dataDir: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startEtcd(): Promise<EtcdServer> {
  const dataDir = await mkdtemp(join(tmpdir(), "kctl-etcd-"));
  try {
    const etcd = await startEtcdProcess({ dataDir, unsafeNoFsync: true });
    return {
      endpoint: etcd.endpoint,
      dataDir,
      pid: etcd.pid,
      stop: async () => {
        await etcd.stop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}
