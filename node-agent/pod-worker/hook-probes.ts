/**
 * Probes as a hook: startup, liveness and readiness, all through one runner. Until the startup
 * probe passes, nothing else runs; then liveness failures past the threshold kill the attempt and
 * readiness sets `ready`. Counters start over with every attempt.
 */
import type { Probe } from "../../proto/gen/api.js";
import type { ContainerRecord, ProbeCounters } from "./container-record.js";
import type { AttemptVerdict, ContainerAttempt, PodHook, PodRun } from "./pod-hook.js";
import { type ProbeResult, runProbe } from "./probes.js";

type Kind = "startup" | "liveness" | "readiness";

interface ProbeKind {
  kind: Kind;
  probe(a: ContainerAttempt): Probe | undefined;
  /** Reacts to one result (counters already updated); a verdict kills the attempt. */
  after(run: PodRun, a: ContainerAttempt, probe: Probe, result: ProbeResult): AttemptVerdict | undefined;
}

const startup: ProbeKind = {
  kind: "startup",
  probe: (a) => (a.rec.started ? undefined : a.spec.startupProbe),
  after(_run, a, probe, result) {
    if (result.ok) {
      a.rec.started = true;
      a.rec.ready = !a.spec.readinessProbe;
    } else if (a.rec.probes.startup.failures >= (probe.failureThreshold ?? 3)) {
      return { kill: `Startup probe failed: ${result.message}` };
    }
    return undefined;
  },
};

const liveness: ProbeKind = {
  kind: "liveness",
  probe: (a) => a.spec.livenessProbe,
  after(run, a, probe, result) {
    if (result.ok) return undefined;
    run.event("Warning", "Unhealthy", `Liveness probe failed: ${result.message}`);
    if (a.rec.probes.liveness.failures >= (probe.failureThreshold ?? 3))
      return { kill: `Container ${a.name} failed liveness probe, will be restarted` };
    return undefined;
  },
};

const readiness: ProbeKind = {
  kind: "readiness",
  probe: (a) => a.spec.readinessProbe,
  after(run, a, probe, result) {
    const c = a.rec.probes.readiness;
    if (result.ok) {
      if (c.successes >= (probe.successThreshold ?? 1)) a.rec.ready = true;
      return undefined;
    }
    // Said once when readiness is lost (or first fails), not on every failing period.
    if (a.rec.ready || c.failures === 1)
      run.event("Warning", "Unhealthy", `Readiness probe failed: ${result.message}`);
    if (c.failures >= (probe.failureThreshold ?? 3)) a.rec.ready = false;
    return undefined;
  },
};

function due(probe: Probe, counters: ProbeCounters, rec: ContainerRecord, now: number): boolean {
  return (
    now - (rec.startedAtMs ?? now) >= (probe.initialDelaySeconds ?? 0) * 1000 &&
    now - counters.lastRunAt >= (probe.periodSeconds ?? 10) * 1000
  );
}

export function probesHook(): PodHook {
  return {
    name: "probes",
    async poststart(_run, a) {
      a.rec.started = !a.spec.startupProbe;
      a.rec.ready = !a.spec.readinessProbe && a.rec.started;
      for (const p of Object.values(a.rec.probes))
        Object.assign(p, { successes: 0, failures: 0, lastRunAt: 0 });
      return undefined;
    },
    async restore(_run, a) {
      a.rec.started = true;
      a.rec.ready = a.rec.running && (a.rec.init || !a.spec.readinessProbe);
    },
    async running(run, a) {
      const now = run.deps.clock.now();
      const target = run.target(a.spec, a.id);
      // The startup probe, while it has not passed, holds the others back.
      const kinds = !a.rec.started && a.spec.startupProbe ? [startup] : [liveness, readiness];
      for (const k of kinds) {
        const probe = k.probe(a);
        const counters = a.rec.probes[k.kind];
        if (!probe || !due(probe, counters, a.rec, now)) continue;
        counters.lastRunAt = now;
        const result = await runProbe(probe, target);
        run.deps.metrics?.probeResults.inc({ probe: k.kind, result: result.ok ? "success" : "failure" });
        if (result.ok) {
          counters.failures = 0;
          counters.successes++;
        } else {
          counters.successes = 0;
          counters.failures++;
        }
        const verdict = k.after(run, a, probe, result);
        if (verdict) return verdict;
      }
      return undefined;
    },
  };
}
