/**
 * Leader election over etcd (`--leader-elect`): candidates race to create one key bound to an etcd
 * lease of `ttlSeconds`. The holder renews the lease every ttl/3 and gives up its work (aborts the
 * signal it handed to `onStartedLeading`) when it cannot renew within 2/3 of the ttl, before etcd
 * can expire the lease and let someone else in, so two leaders never act at once. A leader that
 * dies stops renewing and its key vanishes after the ttl; a leader that stops revokes its lease at
 * once. Waiting candidates watch the key and retry as soon as it is deleted.
 */
import { type Etcd3, EtcdLeaseInvalidError, type Lease, type Namespace, type Watcher } from "etcd3";
import { type Clock, realClock, type Timer } from "../../foundation/util/clock.js";
import { tracer } from "../../foundation/util/trace.js";

const trace = tracer("leader-election");

export interface LeaderElectionOptions {
  client: Etcd3 | Namespace;
  /** What is being led, e.g. "kube-scheduler"; the key is `${keyPrefix}${lockName}`. */
  lockName: string;
  /** This candidate, e.g. `${hostname}_${pid}`; stored as the key's value. */
  identity: string;
  /** Lease length: how long a dead leader blocks the others. Integer >= 2 (etcd's minimum lease TTL). */
  ttlSeconds: number;
  /** How often a waiting candidate retries even without a watch event. Default ttl/2. */
  retryPeriodMs?: number;
  keyPrefix?: string;
  clock?: Clock;
  /** Runs while this candidate leads; `signal` aborts when leadership is lost or `stop()` is called. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  onStoppedLeading?(): void;
  /** Told the identity of each leader observed (including this candidate). */
  onNewLeader?(identity: string): void;
}

export interface LeaderElector {
  isLeader(): boolean;
  /** Stops campaigning; if leading, aborts the work and revokes the lease so another takes over now. */
  stop(): Promise<void>;
}

export class LeaderElectionConfigError extends Error {
  constructor(message: string) {
    super(`leader election: ${message}`);
    this.name = "LeaderElectionConfigError";
  }
}

export const defaultLeaderElectionPrefix = "/kctl/leader-election/";

/**
 * Leads at once and until `stop()`, with no election (`--leader-elect=false`): for a control plane
 * known to be the only one, which then starts its loops without waiting for a lease.
 */
export function runUnelected(onStartedLeading: LeaderElectionOptions["onStartedLeading"]): LeaderElector {
  const abort = new AbortController();
  const work = Promise.resolve()
    .then(() => onStartedLeading(abort.signal))
    .catch((err: unknown) => trace(`unelected work failed: ${(err as Error).message}`));
  return {
    isLeader: () => !abort.signal.aborted,
    stop: async () => {
      abort.abort();
      await work;
    },
  };
}

/** Campaigns until `stop()`: leads when it wins, and campaigns again after losing leadership. */
export function runWhenLeader(opts: LeaderElectionOptions): LeaderElector {
  if (!Number.isInteger(opts.ttlSeconds) || opts.ttlSeconds < 2) {
    throw new LeaderElectionConfigError(`ttlSeconds must be an integer >= 2, got ${opts.ttlSeconds}`);
  }
  if (!opts.identity) throw new LeaderElectionConfigError("identity must not be empty");
  if (!opts.lockName || opts.lockName.includes("/")) {
    throw new LeaderElectionConfigError(
      `lockName must be a non-empty name without "/", got "${opts.lockName}"`,
    );
  }
  const elector = new Elector(opts);
  void elector.loop();
  return elector;
}

class Elector implements LeaderElector {
  private readonly key: string;
  private readonly clock: Clock;
  private readonly ttlMs: number;
  private readonly retryMs: number;
  private stopped = false;
  private leading = false;
  /** Wakes whatever the loop is waiting on (a retry pause or the leadership hold). */
  private wake: () => void = () => {};
  private finished: Promise<void> | undefined;
  private lastLeader = "";

  constructor(private readonly opts: LeaderElectionOptions) {
    this.key = `${opts.keyPrefix ?? defaultLeaderElectionPrefix}${opts.lockName}`;
    this.clock = opts.clock ?? realClock;
    this.ttlMs = opts.ttlSeconds * 1000;
    this.retryMs = opts.retryPeriodMs ?? this.ttlMs / 2;
  }

  isLeader(): boolean {
    return this.leading;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.finished;
  }

  loop(): Promise<void> {
    this.finished = (async () => {
      while (!this.stopped) {
        try {
          await this.attempt();
        } catch (err) {
          trace(`${this.opts.identity}: campaign for ${this.key} failed: ${(err as Error).message}`);
          await this.pause(this.retryMs, undefined);
        }
      }
    })();
    return this.finished;
  }

  /** One round: try to take the key; lead until lost, or wait for the key to go away. */
  private async attempt(): Promise<void> {
    const lease = this.opts.client.lease(this.opts.ttlSeconds, { autoKeepAlive: false });
    let leaseId: string;
    try {
      leaseId = await lease.grant();
    } catch (err) {
      lease.release();
      throw err;
    }
    const txn = await this.opts.client
      .if(this.key, "Create", "==", 0)
      .then(this.opts.client.put(this.key).value(this.opts.identity).lease(leaseId))
      .else(this.opts.client.get(this.key))
      .commit();
    if (txn.succeeded) {
      await this.lead(lease, BigInt(txn.header.revision) + 1n);
      return;
    }
    await this.bounded(lease.revoke());
    const holder = txn.responses[0]?.response_range?.kvs[0]?.value?.toString();
    if (holder) this.observeLeader(holder);
    if (this.stopped) return;
    const watcher = await this.watchKey(BigInt(txn.header.revision) + 1n);
    await this.pause(this.retryMs, watcher);
  }

  /** Holds leadership from the revision the key was created at, until lost or stopped. */
  private async lead(lease: Lease, fromRevision: bigint): Promise<void> {
    trace(`${this.opts.identity}: acquired ${this.key}`);
    const ac = new AbortController();
    let watcher: Watcher | undefined;
    const lose = (why: string): void => {
      if (ac.signal.aborted) return;
      trace(`${this.opts.identity}: lost ${this.key}: ${why}`);
      ac.abort(new Error(`leadership of ${this.key} lost: ${why}`));
      this.wake();
    };
    // Renew every ttl/3; give up at 2/3 ttl, a full third before etcd can expire the lease.
    const renewDeadline = (this.ttlMs * 2) / 3;
    let lastRenew = this.clock.now();
    let timer: Timer | undefined;
    const renew = (): void => {
      if (this.clock.now() - lastRenew > renewDeadline) {
        lose("could not renew the lease in time");
        return;
      }
      const sentAt = this.clock.now();
      lease
        .keepaliveOnce()
        .then(() => {
          lastRenew = sentAt;
        })
        .catch((err: Error) => {
          if (err instanceof EtcdLeaseInvalidError) lose("the lease expired");
          else trace(`${this.opts.identity}: lease renewal failed: ${err.message}`);
        });
      if (!ac.signal.aborted) timer = this.clock.setTimer(this.ttlMs / 3, renew);
    };
    timer = this.clock.setTimer(this.ttlMs / 3, renew);
    try {
      watcher = await this.watchKey(fromRevision);
      watcher.on("delete", () => lose("the key was deleted"));
      watcher.on("put", (kv) => {
        if (kv.value.toString() !== this.opts.identity) lose(`the key now names ${kv.value.toString()}`);
      });
      if (this.stopped || ac.signal.aborted) return;
      this.leading = true;
      this.observeLeader(this.opts.identity);
      const threw = (err: unknown): void =>
        trace(`${this.opts.identity}: onStartedLeading threw: ${(err as Error)?.stack ?? err}`);
      try {
        Promise.resolve(this.opts.onStartedLeading(ac.signal)).catch(threw);
      } catch (err) {
        threw(err);
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        if (this.stopped || ac.signal.aborted) resolve();
      });
    } finally {
      timer?.cancel();
      if (!ac.signal.aborted) ac.abort(new Error(`leadership of ${this.key} released`));
      const wasLeading = this.leading;
      this.leading = false;
      this.wake = () => {};
      // Bounded: with etcd unreachable these calls could hang, and stop() waits for them.
      await this.bounded(watcher?.cancel());
      // Resign: revoking the lease deletes the key, so a waiting candidate takes over right away.
      await this.bounded(lease.revoke().catch(() => lease.release()));
      trace(`${this.opts.identity}: stopped leading ${this.key}`);
      if (wasLeading) this.opts.onStoppedLeading?.();
    }
  }

  private async watchKey(fromRevision: bigint | undefined): Promise<Watcher> {
    const builder = this.opts.client.watch().key(this.key);
    if (fromRevision !== undefined) builder.startRevision(fromRevision.toString());
    const watcher = await builder.create();
    watcher.on("error", (err) => trace(`${this.opts.identity}: watch of ${this.key} failed: ${err.message}`));
    return watcher;
  }

  /** Waits up to `ms`, or until the key is deleted or `stop()` is called. */
  private async pause(ms: number, watcher: Watcher | undefined): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = this.clock.setTimer(ms, resolve);
      this.wake = () => {
        timer.cancel();
        resolve();
      };
      watcher?.on("delete", this.wake);
      watcher?.on("put", (kv) => this.observeLeader(kv.value.toString()));
      if (this.stopped) this.wake();
    });
    this.wake = () => {};
    await this.bounded(watcher?.cancel());
  }

  /** Waits for a best-effort cleanup call, at most one retry period; its failure is ignored. */
  private async bounded(p: Promise<unknown> | undefined): Promise<void> {
    if (!p) return;
    let timer: Timer | undefined;
    await Promise.race([
      p.catch(() => {}),
      new Promise<void>((resolve) => {
        timer = this.clock.setTimer(this.retryMs, resolve);
      }),
    ]);
    timer?.cancel();
  }

  private observeLeader(identity: string): void {
    if (identity === this.lastLeader) return;
    this.lastLeader = identity;
    this.opts.onNewLeader?.(identity);
  }
}
