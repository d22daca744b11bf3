import { describe, expect, it } from "vitest";
import type { Container } from "../../proto/gen/api.js";
import { probesHook } from "./hook-probes.js";
import { fakeRun, podOf, setupOf } from "./testing/fake-pod-run.js";

const exec = (name: string) => ({ exec: { command: [name] }, periodSeconds: 1 });

/** A running attempt of `spec` right after its start, and a way to run one probe round `ms` later. */
async function started(spec: Container) {
  const run = fakeRun(podOf({ containers: [spec] }));
  const hook = probesHook();
  const a = setupOf(run, spec);
  Object.assign(a.rec, { id: a.id, running: true, startedAtMs: run.clock.now() });
  await hook.poststart!(run, a);
  const round = async (ms: number, exitCode: number) => {
    run.clock.advance(ms);
    run.execExitCode = exitCode;
    return hook.running!(run, a);
  };
  return { run, rec: a.rec, round };
}

describe("probes hook", () => {
  it("holds liveness and readiness back until the startup probe passes", async () => {
    const { run, rec, round } = await started({
      name: "main",
      startupProbe: { ...exec("startup"), failureThreshold: 5 },
      livenessProbe: exec("live"),
      readinessProbe: exec("ready"),
    });
    expect(rec.started).toBe(false);
    expect(await round(0, 1)).toBeUndefined();
    expect(await round(1000, 1)).toBeUndefined();
    expect(run.execs.map((c) => c[0])).toEqual(["startup", "startup"]);
    expect(await round(1000, 0)).toBeUndefined();
    expect(rec.started).toBe(true);
    expect(rec.ready).toBe(false);
    await round(1000, 0);
    expect(run.execs.map((c) => c[0])).toEqual(["startup", "startup", "startup", "live", "ready"]);
    expect(rec.ready).toBe(true);
    // Startup failures were not liveness failures: nothing was said of them.
    expect(run.events).toEqual([]);
  });

  it("kills a container whose startup probe keeps failing, saying so", async () => {
    const { round } = await started({ name: "main", startupProbe: { ...exec("s"), failureThreshold: 2 } });
    expect(await round(0, 1)).toBeUndefined();
    expect(await round(1000, 1)).toEqual({ kill: "Startup probe failed: command exited with 1" });
  });

  it("kills at the liveness failure threshold, each failure an Unhealthy event; a pass starts the count over", async () => {
    const { run, round } = await started({
      name: "main",
      livenessProbe: { ...exec("l"), failureThreshold: 2 },
    });
    expect(await round(0, 1)).toBeUndefined();
    expect(await round(1000, 0)).toBeUndefined();
    expect(await round(1000, 1)).toBeUndefined();
    expect(await round(1000, 1)).toEqual({ kill: "Container main failed liveness probe, will be restarted" });
    expect(run.events).toEqual(
      Array(3).fill("Warning Unhealthy: Liveness probe failed: command exited with 1"),
    );
  });

  it("honours initialDelaySeconds and periodSeconds", async () => {
    const { run, round } = await started({
      name: "main",
      livenessProbe: { exec: { command: ["l"] }, initialDelaySeconds: 5, periodSeconds: 10 },
    });
    await round(4000, 0);
    expect(run.execs).toEqual([]);
    await round(1000, 0);
    await round(9000, 0);
    expect(run.execs).toHaveLength(1);
    await round(1000, 0);
    expect(run.execs).toHaveLength(2);
  });

  it("turns ready after successThreshold passes and unready after failureThreshold failures, saying so once", async () => {
    const { run, rec, round } = await started({
      name: "main",
      readinessProbe: { ...exec("r"), successThreshold: 2, failureThreshold: 2 },
    });
    await round(0, 0);
    expect(rec.ready).toBe(false);
    await round(1000, 0);
    expect(rec.ready).toBe(true);
    await round(1000, 1);
    expect(rec.ready).toBe(true);
    await round(1000, 1);
    await round(1000, 1);
    expect(rec.ready).toBe(false);
    expect(run.events.filter((e) => e.includes("Readiness probe failed"))).toHaveLength(2);
  });

  it("starts the counters over with every attempt", async () => {
    const spec = { name: "main", readinessProbe: exec("r"), startupProbe: exec("s") };
    const { run, rec, round } = await started(spec);
    await round(0, 0);
    await round(1000, 0);
    expect(rec.ready).toBe(true);
    await probesHook().poststart!(run, { ...setupOf(run, spec), rec });
    expect(rec).toMatchObject({ started: false, ready: false });
    expect(rec.probes.readiness).toEqual({ successes: 0, failures: 0, lastRunAt: 0 });
  });

  it("takes an adopted running container as started, ready unless it has a readiness probe", async () => {
    const run = fakeRun(podOf({ containers: [] }));
    for (const [spec, ready] of [
      [{ name: "a" }, true],
      [{ name: "b", readinessProbe: exec("r") }, false],
    ] as const) {
      const a = setupOf(run, spec);
      a.rec.running = true;
      await probesHook().restore!(run, a);
      expect(a.rec).toMatchObject({ started: true, ready });
    }
  });
});
