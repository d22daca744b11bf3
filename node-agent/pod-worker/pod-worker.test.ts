/**
 * The worker's loop with hooks that record what they are asked and a runtime kept in memory: the
 * order of init containers, restarts, a hook's failure and verdicts, teardown and adoption. The
 * hooks themselves are tested each on its own (hook-*.test.ts); real containers in e2e/.
 */
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeClock } from "../../foundation/util/clock.js";
import type { Pod, PodSpec, PodStatus } from "../../proto/gen/api.js";
import type { ContainerState, RuntimeClient } from "../runtime/oci/runtime-client.js";
import { ConcurrencyLimit } from "../util/concurrency-limit.js";
import { HookError, type PodHook, type PodVerdict } from "./pod-hook.js";
import { podMetrics } from "./pod-metrics.js";
import { PodWorker } from "./pod-worker.js";
import type { PodWorkerDeps } from "./pod-worker-deps.js";
import { podOf } from "./testing/fake-pod-run.js";
import { stageTotals } from "./testing/stage-metrics.js";

const UID = "0b7c5a52-8a4e-4d5c-9a55-4a4d0c1f7e21";

/** Containers in memory; each one's state dir under `root`, as the worker lists them there. */
class MemoryRuntime {
  readonly states = new Map<string, ContainerState>();
  readonly log: string[] = [];
  constructor(readonly root: string) {}
  async containerIds(): Promise<string[]> {
    return readdir(this.root).catch(() => [] as string[]);
  }
  async createAndStart(id: string): Promise<void> {
    this.log.push(`start ${id}`);
    await mkdir(join(this.root, id), { recursive: true });
    this.states.set(id, { status: "running", pid: 1 });
  }
  async state(id: string): Promise<ContainerState | undefined> {
    return this.states.get(id);
  }
  /** The container ends by itself. */
  exit(id: string, exitCode: number): void {
    this.states.set(id, {
      status: "stopped",
      pid: 0,
      exit: { exitCode, signal: 0, oomKilled: false, finishedAt: "" },
    });
  }
  async kill(id: string, signal: string): Promise<void> {
    this.log.push(`kill ${id} ${signal}`);
    this.exit(id, 0);
    this.states.get(id)!.exit!.signal = 15;
  }
  async delete(id: string): Promise<void> {
    this.log.push(`delete ${id}`);
    this.states.delete(id);
    await rm(join(this.root, id), { recursive: true, force: true });
  }
  async exec() {
    return { exitCode: 0, stdout: "", stderr: "" };
  }
}

/** A hook recording every stage as `<stage> <container or attempt id>`; `prerunVerdict` ends the pod. */
function recordingHook(
  log: string[],
  opts: { failPrestart?: string; verdict?: () => PodVerdict | undefined } = {},
) {
  const hook: PodHook = {
    name: "rec",
    prerun: async () => {
      log.push("prerun");
      return opts.verdict?.();
    },
    prestart: async (_run, a) => {
      log.push(`prestart ${a.id}`);
      if (a.name === opts.failPrestart)
        throw new HookError("CreateContainerConfigError", `no config for ${a.name}`);
      a.bundle = `/bundles/${a.id}`;
    },
    poststart: async (_run, a) => {
      log.push(`poststart ${a.id}`);
      return undefined;
    },
    restore: async (_run, a) => {
      log.push(`restore ${a.id}`);
    },
    prestop: async (_run, a) => {
      log.push(`prestop ${a.id}`);
    },
    exited: async (_run, a) => {
      log.push(`exited ${a.id}`);
    },
    poststop: async (_run, ref) => {
      log.push(`poststop ${ref.id}`);
    },
    postrun: async () => {
      log.push("postrun");
    },
  };
  return hook;
}

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "pod-worker-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function setup(
  spec: PodSpec,
  opts: Parameters<typeof recordingHook>[1] = {},
  /** Stands in for the control plane's answer to a status report. */
  answer: () => Promise<void> = async () => undefined,
  registry?: Registry,
) {
  const clock = new FakeClock(Date.parse("2026-01-01T00:00:00Z"));
  const runtime = new MemoryRuntime(join(root, "runtime"));
  const statuses: PodStatus[] = [];
  const events: string[] = [];
  const hooks: string[] = [];
  const deps = {
    nodeName: "n1",
    hostIP: "192.0.2.1",
    stateDir: root,
    runtime: runtime as unknown as RuntimeClient,
    startLimit: new ConcurrencyLimit(1),
    clock,
    reportStatus: async (_pod: Pod, status: PodStatus) => {
      statuses.push(status);
      await answer();
    },
    finalizeDeletion: async () => undefined,
    event: (_pod: Pod, type: string, reason: string, message: string) =>
      events.push(`${type} ${reason}: ${message}`),
    backoff: { baseMs: 10_000, maxMs: 40_000, resetAfterMs: 600_000 },
    metrics: registry && podMetrics(registry),
  } as unknown as PodWorkerDeps;
  const worker = new PodWorker(podOf(spec, UID), deps, [recordingHook(hooks, opts)]);
  /**
   * Moves time on by `ms` and waits (in real time: the runtime's state dirs are files) until the
   * loop is idle again, which it shows by setting its next resync timer.
   */
  const tick = async (ms = 1000) => {
    clock.advance(ms);
    for (let i = 0; i < 1000 && clock.pendingTimers() === 0; i++) await new Promise((r) => setTimeout(r, 5));
  };
  /** Moves time on until `promise` settles (a stop, which sets no resync timer). */
  const until = async <T>(promise: Promise<T>): Promise<T> => {
    let done = false;
    void promise.finally(() => (done = true));
    while (!done) {
      clock.advance(100);
      await new Promise((r) => setTimeout(r, 5));
    }
    return promise;
  };
  const id = (name: string, attempt = 0) => `${UID}_${name}_${attempt}`;
  const last = () => statuses.at(-1)!;
  const starts = () => runtime.log.filter((l) => l.startsWith("start"));
  return { worker, runtime, statuses, events, hooks, tick, until, id, last, starts, clock };
}

const c = (name: string) => ({ name, image: "busybox" });

describe("PodWorker", () => {
  it("runs init containers one at a time in order, then the containers", async () => {
    const t = setup({ initContainers: [c("i1"), c("i2")], containers: [c("main")] });
    await mkdir(t.runtime.root, { recursive: true });
    await t.worker.start();
    await t.tick(0);
    expect(t.runtime.log).toEqual([`start ${t.id("i1")}`]);
    t.runtime.exit(t.id("i1"), 0);
    await t.tick();
    expect(t.runtime.log).toEqual([`start ${t.id("i1")}`, `start ${t.id("i2")}`]);
    t.runtime.exit(t.id("i2"), 0);
    await t.tick();
    expect(t.runtime.log.at(-1)).toBe(`start ${t.id("main")}`);
    expect(t.last().phase).toBe("Running");
    expect(t.last().initContainerStatuses?.map((s) => s.state?.terminated?.reason)).toEqual([
      "Completed",
      "Completed",
    ]);
    t.worker.detach();
  });

  it("stops at a failing init container: restarted with back-off, or the pod Failed under restartPolicy Never", async () => {
    const again = setup({ initContainers: [c("i1")], containers: [c("main")] });
    await again.worker.start();
    await again.tick(0);
    again.runtime.exit(again.id("i1"), 1);
    await again.tick();
    // The first restart is immediate; the next waits 10 s.
    expect(again.starts()).toEqual([`start ${again.id("i1")}`, `start ${again.id("i1", 1)}`]);
    again.runtime.exit(again.id("i1", 1), 1);
    await again.tick();
    await again.tick(5000);
    expect(again.starts()).toHaveLength(2);
    expect(again.last().initContainerStatuses?.[0]?.state?.waiting?.reason).toBe("CrashLoopBackOff");
    await again.tick(5000);
    expect(again.starts().at(-1)).toBe(`start ${again.id("i1", 2)}`);
    again.worker.detach();

    const never = setup({ restartPolicy: "Never", initContainers: [c("i1")], containers: [c("main")] });
    await never.worker.start();
    await never.tick(0);
    never.runtime.exit(never.id("i1"), 1);
    await never.tick();
    await never.tick();
    expect(never.starts()).toEqual([`start ${never.id("i1")}`]);
    expect(never.last().phase).toBe("Failed");
    never.worker.detach();
  });

  it("replaces an attempt that exited: the new one starts, then the old one is deleted and its hooks undone", async () => {
    const t = setup({ containers: [c("main")] });
    await t.worker.start();
    await t.tick(0);
    t.runtime.exit(t.id("main"), 3);
    await t.tick();
    expect(t.hooks.filter((h) => !h.startsWith("prerun"))).toEqual([
      `prestart ${t.id("main")}`,
      `poststart ${t.id("main")}`,
      `exited ${t.id("main")}`,
      `prestart ${t.id("main", 1)}`,
      `poststop ${t.id("main")}`,
      `poststart ${t.id("main", 1)}`,
    ]);
    const status = t.last().containerStatuses?.[0];
    expect(status?.restartCount).toBe(1);
    expect(status?.lastState?.terminated).toMatchObject({ exitCode: 3, reason: "Error" });
    t.worker.detach();
  });

  it("dates a restart from the new attempt's start, however long removing the old attempt takes", async () => {
    const t = setup({ containers: [c("main")] });
    const started: number[] = [];
    const create = t.runtime.createAndStart.bind(t.runtime);
    t.runtime.createAndStart = async (id) => {
      started.push(t.clock.now());
      await create(id);
    };
    // Deleting a runtime container and unmounting its rootfs takes seconds on a loaded host.
    const remove = t.runtime.delete.bind(t.runtime);
    t.runtime.delete = async (id) => {
      t.clock.advance(3000);
      await remove(id);
    };
    await t.worker.start();
    await t.tick(0);
    t.runtime.exit(t.id("main"), 3);
    await t.tick();
    const status = t.last().containerStatuses?.[0];
    expect(status?.restartCount).toBe(1);
    expect(started).toHaveLength(2);
    expect(Date.parse(status?.state?.running?.startedAt ?? "")).toBe(started[1]);
    t.worker.detach();
  });

  it("makes a container wait with the reason of the hook that failed its start, and starts nothing", async () => {
    const t = setup({ containers: [c("main")] }, { failPrestart: "main" });
    await t.worker.start();
    await t.tick(0);
    expect(t.runtime.log).toEqual([]);
    expect(t.hooks).toContain(`poststop ${t.id("main")}`);
    expect(t.last().containerStatuses?.[0]?.state?.waiting).toEqual({
      reason: "CreateContainerConfigError",
      message: "no config for main",
    });
    expect(t.events).toEqual(["Warning CreateContainerConfigError: Error: no config for main"]);
    t.worker.detach();
  });

  it("fails the pod on a prerun verdict: its containers killed, none started again", async () => {
    let over = false;
    const failure = { reason: "DeadlineExceeded", message: "too long" };
    const t = setup({ containers: [c("main")] }, { verdict: () => (over ? { fail: failure } : undefined) });
    await t.worker.start();
    await t.tick(0);
    over = true;
    await t.tick();
    expect(t.runtime.log).toEqual([`start ${t.id("main")}`, `kill ${t.id("main")} TERM`]);
    await t.tick(60_000);
    expect(t.runtime.log).toHaveLength(2);
    expect(t.last()).toMatchObject({ phase: "Failed", reason: "DeadlineExceeded", message: "too long" });
    expect(t.last().containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(143);
    expect(t.events).toContain("Normal DeadlineExceeded: too long");
    t.worker.detach();
  });

  it("stops a pod: prestop, SIGTERM, then every attempt deleted with its hooks undone, then postrun", async () => {
    const t = setup({ terminationGracePeriodSeconds: 0, containers: [c("a"), c("b")] });
    await t.worker.start();
    await t.tick(0);
    t.hooks.length = 0;
    await t.until(t.worker.stop(false));
    expect(t.hooks.filter((h) => !h.startsWith("exited"))).toEqual([
      `prestop ${t.id("a")}`,
      `prestop ${t.id("b")}`,
      `poststop ${t.id("a")}`,
      `poststop ${t.id("b")}`,
      "postrun",
    ]);
    expect(t.runtime.states.size).toBe(0);
  });

  it("kills at once for a fence, without waiting for a sync stuck on the control plane, and skips preStop", async () => {
    let lost = false;
    const t = setup({ terminationGracePeriodSeconds: 30, containers: [c("a"), c("b")] }, {}, () =>
      lost ? new Promise<void>(() => undefined) : Promise.resolve(),
    );
    await t.worker.start();
    await t.tick(0);
    // The link is gone: a's exit is reported and the report never returns.
    lost = true;
    t.runtime.exit(t.id("a"), 1);
    t.clock.advance(1000);
    await new Promise((r) => setTimeout(r, 20));
    t.runtime.log.length = 0;
    t.hooks.length = 0;
    void t.worker.stop(false, true);
    // The fake clock stands still, so nothing here can wait out a timeout or the grace period; real
    // time passes for the runtime's state dirs (files), as much as a loaded machine needs.
    const allStopped = () => [...t.runtime.states.values()].every((st) => st.status === "stopped");
    for (const deadline = Date.now() + 10_000; !allStopped() && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(t.runtime.log).toContain(`kill ${t.id("b")} TERM`);
    expect(allStopped()).toBe(true);
    expect(t.runtime.states.size).toBeGreaterThan(0);
    expect(t.hooks.filter((h) => h.startsWith("prestop"))).toEqual([]);
  });

  it("adopts the newest attempt a previous agent left, through restore instead of a new start", async () => {
    const t = setup({ containers: [c("main")] });
    for (const attempt of [0, 1]) {
      await t.runtime.createAndStart(t.id("main", attempt));
    }
    t.runtime.log.length = 0;
    await t.worker.start();
    await t.tick(0);
    expect(t.runtime.log).toEqual([]);
    expect(t.hooks.filter((h) => !h.startsWith("prerun"))).toEqual([`restore ${t.id("main", 1)}`]);
    expect(t.last().containerStatuses?.[0]).toMatchObject({ restartCount: 1, state: { running: {} } });
    t.worker.detach();
  });

  it("times the stages of a start, each once, when the pod first reports Running", async () => {
    const registry = new Registry();
    const t = setup({ containers: [c("main")] }, {}, async () => undefined, registry);
    await t.worker.start();
    await t.tick(0);
    expect(t.last().phase).toBe("Running");
    await t.tick();
    const counts = Object.fromEntries(
      Object.entries(await stageTotals(registry)).map(([stage, t]) => [stage, t.count]),
    );
    expect(counts).toEqual({
      adopt: 1,
      "prerun/rec": 1,
      "prestart/rec": 1,
      "create-wait": 1,
      create: 1,
      "poststart/rec": 1,
      report: 1,
    });
    t.worker.detach();
  });

  it("reports its conditions again when a newer version of the pod says otherwise (another writer changed one)", async () => {
    // With no probes hook the container is never Ready; the node lifecycle controller's write
    // (Ready False on a silent node) is the mirror image of this one. The condition's transition
    // time follows the pod's current status, so the status differs from the last report.
    const t = setup({ containers: [c("main")] });
    await t.worker.start();
    await t.tick(0);
    const readyOf = (status: PodStatus | undefined) =>
      status?.conditions?.find((cond) => cond.type === "Ready")?.status;
    expect(readyOf(t.last())).toBe("False");
    const reports = t.statuses.length;
    await t.tick();
    expect(t.statuses).toHaveLength(reports);

    const overwritten = structuredClone(t.worker.currentPod);
    overwritten.metadata.resourceVersion = "900";
    overwritten.status = {
      ...overwritten.status,
      conditions: (overwritten.status?.conditions ?? []).map((cond) =>
        cond.type === "Ready" ? { ...cond, status: "True" } : cond,
      ),
    };
    t.worker.update(overwritten);
    await t.tick();
    expect(t.statuses).toHaveLength(reports + 1);
    expect(readyOf(t.last())).toBe("False");
    t.worker.detach();
  });
});
