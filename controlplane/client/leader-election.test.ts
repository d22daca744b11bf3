import { Etcd3 } from "etcd3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type EtcdServer, startEtcd } from "../testing/etcd-server.js";
import { type LeaderElector, runUnelected, runWhenLeader } from "./leader-election.js";

let etcd: EtcdServer;
const clients: Etcd3[] = [];
const electors: LeaderElector[] = [];

beforeAll(async () => {
  etcd = await startEtcd();
});

afterEach(async () => {
  await Promise.all(electors.splice(0).map((e) => e.stop()));
  for (const c of clients.splice(0)) c.close();
});

afterAll(async () => {
  await etcd?.stop();
});

interface Candidate {
  elector: LeaderElector;
  client: Etcd3;
  log: string[];
  signal(): AbortSignal | undefined;
}

function candidate(identity: string, lockName: string, ttlSeconds = 2): Candidate {
  const client = new Etcd3({ hosts: etcd.endpoint });
  clients.push(client);
  const log: string[] = [];
  let current: AbortSignal | undefined;
  const elector = runWhenLeader({
    client,
    lockName,
    identity,
    ttlSeconds,
    retryPeriodMs: 500,
    onStartedLeading(signal) {
      current = signal;
      log.push("started");
      signal.addEventListener("abort", () => log.push("aborted"));
    },
    onStoppedLeading: () => log.push("stopped"),
  });
  electors.push(elector);
  return { elector, client, log, signal: () => current };
}

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<number> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - start;
}

describe("runWhenLeader (real etcd)", () => {
  it("elects exactly one of two candidates, and a resigning leader hands over at once", async () => {
    // A long ttl: a hand-over well within it can only come from resigning, not from expiry.
    const a = candidate("a", "resign", 10);
    const b = candidate("b", "resign", 10);
    await until(() => a.elector.isLeader() || b.elector.isLeader());
    await new Promise((r) => setTimeout(r, 300));
    expect([a, b].filter((c) => c.elector.isLeader())).toHaveLength(1);
    const [leader, follower] = a.elector.isLeader() ? [a, b] : [b, a];
    expect(await leader.client.get("/kctl/leader-election/resign").string()).toBe(leader === a ? "a" : "b");

    const t0 = Date.now();
    await leader.elector.stop();
    expect(leader.log).toEqual(["started", "aborted", "stopped"]);
    expect(leader.signal()?.aborted).toBe(true);
    await until(() => follower.elector.isLeader());
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(follower.log).toEqual(["started"]);
  });

  it("a leader cut off from etcd aborts its work, and another takes over once the lease expires", async () => {
    const a = candidate("a", "crash");
    await until(() => a.elector.isLeader());
    const b = candidate("b", "crash");
    await new Promise((r) => setTimeout(r, 300));
    expect(b.elector.isLeader()).toBe(false);

    // The leader's connection dies without resigning: no more renewals, no revoke.
    a.client.close();
    const t0 = Date.now();
    await until(() => a.signal()?.aborted === true);
    const abortedAfter = Date.now() - t0;
    await until(() => b.elector.isLeader());
    const takenOverAfter = Date.now() - t0;
    // The old leader stops acting before etcd lets the new one in: no two leaders at once.
    expect(abortedAfter).toBeLessThan(takenOverAfter);
    expect(b.log).toEqual(["started"]);
  });

  it("rejects a bad configuration with the field named", () => {
    const client = new Etcd3({ hosts: etcd.endpoint });
    clients.push(client);
    const base = { client, lockName: "x", identity: "i", onStartedLeading: () => {} };
    expect(() => runWhenLeader({ ...base, ttlSeconds: 1 })).toThrow(/ttlSeconds must be an integer >= 2/);
    expect(() => runWhenLeader({ ...base, ttlSeconds: 2, identity: "" })).toThrow(/identity/);
    expect(() => runWhenLeader({ ...base, ttlSeconds: 2, lockName: "a/b" })).toThrow(/lockName/);
  });
});

describe("runUnelected", () => {
  it("leads at once without etcd, and stop() aborts the work and waits for it", async () => {
    let signal: AbortSignal | undefined;
    let finished = false;
    const elector = runUnelected(async (s) => {
      signal = s;
      await new Promise((resolve) => s.addEventListener("abort", resolve, { once: true }));
      finished = true;
    });
    await Promise.resolve();
    expect(elector.isLeader()).toBe(true);
    expect(signal?.aborted).toBe(false);
    await elector.stop();
    expect([signal?.aborted, finished, elector.isLeader()]).toEqual([true, true, false]);
  });
});
