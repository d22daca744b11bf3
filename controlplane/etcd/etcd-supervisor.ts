/**
 * Keeps the control plane's etcd child running: if it exits unexpectedly (crash, OOM kill, an
 * operator's kill), it is started again on the same data dir and the same ports, so the etcd
 * client reconnects by itself and the cluster recovers. Restarts back off (1 s doubling to 30 s);
 * after five failed starts in a row the supervisor gives up and reports it through `failed`.
 */
import { tracer } from "../../foundation/util/trace.js";
import { type EtcdProcess, type EtcdProcessOptions, freePort, startEtcdProcess } from "./etcd-process.js";

const trace = tracer("etcd");
const maxFailedStarts = 5;

export interface SupervisedEtcd {
  endpoint: string;
  /** The etcd pid now (it changes after a restart). */
  pid(): number;
  /** Resolves if etcd cannot be kept running. */
  failed: Promise<Error>;
  stop(): Promise<void>;
}

export async function superviseEtcd(opts: EtcdProcessOptions): Promise<SupervisedEtcd> {
  const ports = {
    clientPort: opts.clientPort ?? (await freePort()),
    peerPort: opts.peerPort ?? (await freePort()),
  };
  let current: EtcdProcess = await startEtcdProcess({ ...opts, ...ports });
  let stopping = false;
  let fail: (err: Error) => void = () => {};
  const failed = new Promise<Error>((resolve) => (fail = resolve));

  const watch = (proc: EtcdProcess): void => {
    void proc.exited.then(async () => {
      if (stopping) return;
      trace("etcd exited; restarting", proc.pid);
      for (let attempt = 0; attempt < maxFailedStarts && !stopping; attempt++) {
        await new Promise((r) => setTimeout(r, Math.min(1000 * 2 ** attempt, 30_000)));
        if (stopping) return;
        try {
          current = await startEtcdProcess({ ...opts, ...ports });
          if (stopping) {
            await current.stop();
            return;
          }
          trace("etcd restarted", current.pid);
          watch(current);
          return;
        } catch (err) {
          trace("etcd restart failed", String(err));
        }
      }
      if (!stopping) fail(new Error(`etcd in ${opts.dataDir} exited and could not be restarted`));
    });
  };
  watch(current);
  return {
    endpoint: current.endpoint,
    pid: () => current.pid,
    failed,
    stop: async () => {
      stopping = true;
      await current.stop();
    },
  };
}
