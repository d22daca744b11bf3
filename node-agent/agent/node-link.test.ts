import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { type Clock, FakeClock } from "../../foundation/util/clock.js";
import type { RegisterResponse } from "../../proto/gen/node.js";
import type { NodeClient } from "./node-client.js";
import { NodeLink, type PodHost } from "./node-link.js";

const s = (seconds: number) => seconds * 1000;
// kctl's defaults: G = 8 s, E = 8 s, so renewals every 2 s and the fence at 10 s.
const settings = { leaseDurationSeconds: 8, nodeEvictionTimeoutSeconds: 8 } as RegisterResponse;

/** A NodeService whose RenewLease answers as `renewal` says: after `ms`, succeeding or not. */
function setup(o: { early?: boolean; setupMs?: number } = {}) {
  const fake = new FakeClock(0);
  // `early`: long timers fire 1 ms before they are due by now(), as a real timer may.
  const clock: Clock = o.early
    ? {
        now: () => fake.now(),
        setTimer: (ms, fn) => fake.setTimer(ms > 1_000 ? ms - 1 : ms, fn),
        sleep: (ms) => fake.sleep(ms),
      }
    : fake;
  const streams: (EventEmitter & { cancel(): void })[] = [];
  // `registers`: whether Register gets through, when it is not the same as renewals.
  const renewals = { ms: 0, ok: true, sent: 0, registers: undefined as boolean | undefined };
  const fences: string[] = [];
  let syncs = 0;
  const client = {
    call: (method: string) => {
      if (method === "Register")
        return (renewals.registers ?? renewals.ok)
          ? Promise.resolve(settings)
          : Promise.reject(new Error("UNAVAILABLE"));
      renewals.sent++;
      const { ms, ok } = renewals;
      return new Promise((resolve, reject) =>
        clock.setTimer(ms, () => (ok ? resolve({}) : reject(new Error("UNAVAILABLE")))),
      );
    },
    watchPods: () => {
      const stream = Object.assign(new EventEmitter(), {
        cancel: () => stream.emit("error", new Error("cancelled")),
      });
      streams.push(stream);
      return stream;
    },
  } as unknown as NodeClient;
  const pods: PodHost = {
    sync: () => void syncs++,
    upsert: () => {},
    remove: () => {},
    fence: async (reason) => void fences.push(reason),
  };
  const link = new NodeLink({
    client,
    registration: { nodeName: "n1" } as never,
    pods,
    clock,
    // The node's setup after registering (network, proxy), as long as the test says.
    ...(o.setupMs ? { onRegistered: () => clock.sleep(o.setupMs!) } : {}),
  });
  /** Moves the clock in small steps so promise callbacks run between timers. */
  const advance = async (ms: number) => {
    await new Promise((r) => setImmediate(r));
    for (let left = ms; left > 0; left -= 100) {
      fake.advance(Math.min(100, left));
      await new Promise((r) => setImmediate(r));
    }
  };
  return { link, renewals, fences, streams, advance, syncs: () => syncs };
}

describe("node link: the fence", () => {
  it("fences F = G + E − 6 s after the last renewal that got through, not before", async () => {
    const { link, renewals, fences, advance } = setup();
    link.start();
    await advance(0);
    await advance(s(4));
    // The link is cut after the renewal sent at 4 s: every later call fails at once.
    renewals.ok = false;
    await advance(s(10) - 200);
    expect(fences).toEqual([]);
    await advance(200);
    expect(fences).toEqual(["lease not renewed for 10s (fence at 10s)"]);
    link.stop();
  });

  it("fences with the pod stream down even when its timer fires a moment early", async () => {
    const { link, renewals, fences, streams, advance } = setup({ early: true });
    link.start();
    await advance(0);
    renewals.ok = false;
    // The stream breaks with the link, and the renewals fail with it.
    streams[0]!.emit("error", new Error("UNAVAILABLE"));
    await advance(s(10) + 200);
    expect(fences).toHaveLength(1);
    link.stop();
  });

  it("keeps renewing while its pod stream reconnects, and does not fence", async () => {
    const { link, renewals, fences, streams, advance } = setup();
    link.start();
    await advance(0);
    // The control plane under the stream is killed and reconnecting keeps failing, while the
    // renewals reach another control plane.
    renewals.registers = false;
    streams[0]!.emit("error", new Error("UNAVAILABLE"));
    const sent = renewals.sent;
    await advance(s(30));
    expect(fences).toEqual([]);
    expect(renewals.sent - sent).toBeGreaterThanOrEqual(14);
    renewals.registers = true;
    await advance(s(6));
    expect(streams.length).toBeGreaterThan(1);
    link.stop();
  });

  it("counts from when the renewal was sent, not when its answer came", async () => {
    const { link, renewals, fences, advance } = setup();
    link.start();
    await advance(0);
    renewals.ms = 1_500; // sent at 2 s, answered at 3.5 s
    await advance(s(2) + 1_600);
    renewals.ok = false;
    renewals.ms = 0;
    await advance(s(10) - 1_600 - 200);
    expect(fences).toEqual([]);
    await advance(200);
    expect(fences).toHaveLength(1);
    link.stop();
  });

  it("does not fence a starved agent whose late renewal gets through", async () => {
    const { link, renewals, fences, advance } = setup();
    link.start();
    await advance(0);
    // Each call takes just under the period: a loaded control plane, or a starved agent.
    renewals.ms = 1_900;
    await advance(s(60));
    expect(fences).toEqual([]);
    expect(renewals.sent).toBeGreaterThan(10);
    link.stop();
  });

  it("renews its lease while the node's setup after registering outlasts the fence", async () => {
    const { link, renewals, fences, streams, advance } = setup({ setupMs: s(14) });
    link.start();
    await advance(s(13));
    expect(streams).toHaveLength(0);
    expect(renewals.sent).toBeGreaterThanOrEqual(5);
    await advance(s(3));
    expect(streams).toHaveLength(1);
    expect(fences).toEqual([]);
    link.stop();
  });

  it("waits for a renewal in flight when the fence falls due, and fences if it fails", async () => {
    const { link, renewals, fences, advance } = setup();
    link.start();
    await advance(0);
    // Calls fail after 1.5 s: sent at 2, 5.5 and 9 s; the last one is under way at 10 s.
    renewals.ok = false;
    renewals.ms = 1_500;
    await advance(s(10) + 200);
    expect(fences).toEqual([]);
    await advance(400);
    expect(fences).toHaveLength(1);
    link.stop();
  });

  it("brings the pods back through a new stream's full sync once a renewal gets through after a fence", async () => {
    const { link, renewals, fences, streams, advance, syncs } = setup();
    link.start();
    await advance(0);
    renewals.ok = false;
    await advance(s(12));
    expect(fences).toHaveLength(1);
    renewals.ok = true;
    await advance(s(2));
    await advance(s(1));
    expect(streams.length).toBe(2);
    streams[1]!.emit("data", { type: "SYNC", objectsJson: [] });
    expect(syncs()).toBe(1);
    await advance(s(20));
    expect(fences).toHaveLength(1);
    link.stop();
  });
});
