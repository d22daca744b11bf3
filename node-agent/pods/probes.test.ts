import { describe, expect, it } from "vitest";
import { FakeClock } from "../../controlplane/util/clock.js";
import type { Container } from "../../proto/gen/api.js";
import { type ProbeResult, ProbeWorker, probeSettings, resolvePort } from "./probes.js";

/** Lets the worker's awaited check and its follow-up timer settle. */
const settle = () => new Promise((r) => setImmediate(r));

function harness(kind: "readiness" | "liveness", probe: object, results: boolean[]) {
  const clock = new FakeClock(0);
  const changes: [number, ProbeResult][] = [];
  let runs = 0;
  const w = new ProbeWorker({
    kind,
    settings: probeSettings(probe),
    clock,
    check: async () => ({ ok: results[runs++] ?? true, message: `run ${runs}` }),
    onChange: (r) => changes.push([clock.now() / 1000, r]),
  });
  const step = async (ms: number) => {
    clock.advance(ms);
    await settle();
  };
  return { w, changes, step, runs: () => runs };
}

describe("ProbeWorker", () => {
  it("waits initialDelaySeconds, runs every periodSeconds, and needs failureThreshold failures in a row", async () => {
    const h = harness("liveness", { initialDelaySeconds: 5, periodSeconds: 2, failureThreshold: 3 }, [
      true,
      false,
      false,
      true,
      false,
      false,
      false,
    ]);
    h.w.start();
    await h.step(4_999);
    expect(h.runs()).toBe(0);
    for (let i = 0; i < 7; i++) await h.step(i === 0 ? 1 : 2_000);
    // runs at 5,7,...: success, fail, fail, success (resets), fail, fail, fail → failure at 17 s
    expect(h.changes).toEqual([
      [5, "success"],
      [17, "failure"],
    ]);
    expect(h.w.result).toBe("failure");
    h.w.stop();
  });

  it("readiness starts unknown and needs successThreshold successes", async () => {
    const h = harness("readiness", { periodSeconds: 1, successThreshold: 2 }, [true, false, true, true]);
    h.w.start();
    expect(h.w.result).toBe("unknown");
    for (let i = 0; i < 4; i++) await h.step(i === 0 ? 0 : 1_000);
    expect(h.changes).toEqual([[3, "success"]]);
    h.w.stop();
  });

  it("a check that does not answer within timeoutSeconds fails", async () => {
    const clock = new FakeClock(0);
    const changes: ProbeResult[] = [];
    const w = new ProbeWorker({
      kind: "liveness",
      settings: probeSettings({ timeoutSeconds: 1, failureThreshold: 1 }),
      clock,
      check: () => new Promise(() => undefined),
      onChange: (r) => changes.push(r),
    });
    w.start();
    clock.advance(0);
    await settle();
    clock.advance(1_000);
    await settle();
    expect(changes).toEqual(["failure"]);
    w.stop();
  });
});

describe("resolvePort", () => {
  const c: Container = { name: "web", ports: [{ name: "http", containerPort: 8080 }] };
  it("takes numbers and named ports, and names a missing one", () => {
    expect(resolvePort(80, c, "p")).toBe(80);
    expect(resolvePort("8081", c, "p")).toBe(8081);
    expect(resolvePort("http", c, "p")).toBe(8080);
    expect(() => resolvePort("grpc", c, "spec.containers[0].livenessProbe.httpGet.port")).toThrow(
      'spec.containers[0].livenessProbe.httpGet.port: "grpc" is not a port of container web',
    );
  });
});
