/**
 * A `PodRun` for unit tests of one hook: a fake clock, the deps a test passes (optional ones are
 * absent, the others throw when used, so a hook touching what it should not fails loudly), events
 * and exec calls recorded.
 */
import { FakeClock } from "../../../foundation/util/clock.js";
import type { Container, Pod } from "../../../proto/gen/api.js";
import { ConcurrencyLimit } from "../../util/concurrency-limit.js";
import { newRecord } from "../container-record.js";
import type { AttemptSetup, PodRun } from "../pod-hook.js";
import type { PodWorkerDeps } from "../pod-worker-deps.js";

export interface FakeRun extends PodRun {
  pod: Pod;
  clock: FakeClock;
  events: string[];
  /** Exit code the next exec returns; every exec's command is recorded. */
  execs: string[][];
  execExitCode: number;
}

export function fakeRun(pod: Pod, deps: Partial<PodWorkerDeps> = {}, podDir = "/nonexistent"): FakeRun {
  const clock = new FakeClock(Date.parse("2026-01-01T00:00:00Z"));
  const optional = new Set([
    "metrics",
    "backoff",
    "resyncMs",
    "serviceEnv",
    "nodeResolvConf",
    "volumeRefreshMs",
    "imagePuller",
    "logRotation",
  ]);
  const unused = new Proxy({} as PodWorkerDeps, {
    get: (_t, key) => {
      if (optional.has(String(key))) return undefined;
      throw new Error(`hook used deps.${String(key)}, which this test did not give`);
    },
  });
  const run: FakeRun = {
    pod,
    uid: pod.metadata.uid ?? "",
    podDir,
    startTime: "2026-01-01T00:00:00Z",
    deps: new Proxy({ clock, startLimit: new ConcurrencyLimit(1), ...deps } as PodWorkerDeps, {
      get: (t, key) => (key in t ? t[key as keyof PodWorkerDeps] : unused[key as keyof PodWorkerDeps]),
    }),
    images: new Map(),
    clock,
    events: [],
    execs: [],
    execExitCode: 0,
    event: (type, reason, message) => run.events.push(`${type} ${reason}: ${message}`),
    target: (spec) => ({
      podIP: "127.0.0.1",
      container: spec,
      exec: async (command) => {
        run.execs.push(command);
        return run.execExitCode;
      },
      sleep: (ms) => clock.sleep(ms),
    }),
  };
  return run;
}

/** A fresh attempt 0 of `spec`, as the worker hands it to prestart. */
export function setupOf(run: PodRun, spec: Container, init = false): AttemptSetup {
  const rec = newRecord(spec.name ?? "", init);
  return { id: `${run.uid}_${spec.name}_0`, name: spec.name ?? "", attempt: 0, spec, rec, mounts: [] };
}

export const podOf = (spec: Pod["spec"], uid = "0b7c5a52-8a4e-4d5c-9a55-4a4d0c1f7e21"): Pod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p", namespace: "ns", uid },
  ...(spec ? { spec } : {}),
});
