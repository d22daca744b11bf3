/**
 * Times pod sandbox setup and teardown inside a throwaway "host" namespace: N pods one at a time
 * (latency p50/p99 and process spawns per operation), then a burst of N pods at once. Needs root;
 * the sandbox benchmark and the pod benchmark both run it.
 */
import { join } from "node:path";
import { toolSpawnCount } from "../commands-linux.js";
import { PodNetwork } from "../sandbox-linux.js";
import { makeNetns, makeScratchDir, removeScratchDir } from "./scratch-linux.js";

export interface SandboxTiming {
  pods: number;
  setupMs: { p50: number; p99: number; max: number };
  teardownMs: { p50: number; p99: number; max: number };
  spawnsPerSetup: number;
  spawnsPerTeardown: number;
  burst: { pods: number; setupAllMs: number; teardownAllMs: number };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summary(ms: number[]): { p50: number; p99: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 100) / 100;
  return { p50: round(percentile(s, 50)), p99: round(percentile(s, 99)), max: round(s[s.length - 1]!) };
}

export async function timeSandboxes(pods: number): Promise<SandboxTiming> {
  const scratch = makeScratchDir("kctl-sandbox-bench");
  try {
    const net = new PodNetwork({
      stateDir: join(scratch, "state"),
      podCIDR: "10.244.0.0/16",
      hostNetns: makeNetns(join(scratch, "host")),
      dns: { nameservers: ["10.96.0.10"], clusterDomain: "cluster.local" },
    });
    await net.ensureNode();
    const setup: number[] = [];
    const teardown: number[] = [];
    let spawnsSetup = 0;
    let spawnsTeardown = 0;
    for (let i = 0; i < pods; i++) {
      const uid = `bench-${i}`;
      let spawns = toolSpawnCount();
      let t = performance.now();
      await net.setupSandbox({ podUID: uid, podName: `p${i}`, namespace: "default" });
      setup.push(performance.now() - t);
      spawnsSetup += toolSpawnCount() - spawns;
      spawns = toolSpawnCount();
      t = performance.now();
      await net.teardownSandbox(uid);
      teardown.push(performance.now() - t);
      spawnsTeardown += toolSpawnCount() - spawns;
    }
    let t = performance.now();
    await Promise.all(
      Array.from({ length: pods }, (_, i) =>
        net.setupSandbox({ podUID: `burst-${i}`, podName: `b${i}`, namespace: "default" }),
      ),
    );
    const burstSetupMs = performance.now() - t;
    t = performance.now();
    await Promise.all(Array.from({ length: pods }, (_, i) => net.teardownSandbox(`burst-${i}`)));
    const burstTeardownMs = performance.now() - t;
    return {
      pods,
      setupMs: summary(setup),
      teardownMs: summary(teardown),
      spawnsPerSetup: spawnsSetup / pods,
      spawnsPerTeardown: spawnsTeardown / pods,
      burst: { pods, setupAllMs: Math.round(burstSetupMs), teardownAllMs: Math.round(burstTeardownMs) },
    };
  } finally {
    removeScratchDir(scratch);
  }
}
