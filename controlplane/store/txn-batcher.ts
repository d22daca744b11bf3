/**
 * Group commit of the store's conditional writes. Every create and compare-and-swap update is one
 * "put this key if these keys are as I saw them" operation. While a transaction is in flight, the
 * operations that arrive queue up and go to etcd together as one transaction whose compares are the
 * conjunction of theirs: under load, tens of writes cost one etcd round trip (one gRPC call here,
 * one raft entry in etcd) instead of tens. With nothing in flight an operation goes out at once,
 * so an idle store adds no latency.
 *
 * etcd applies a transaction all or nothing, so one stale compare fails the whole batch. The batch
 * then reads every compared key in the same transaction; each operation whose own compares failed
 * gets its answer from those reads (exactly what a transaction of its own would have said), and
 * the others go out again. Objects written by one batch share its revision, as keys written by
 * any etcd transaction do. Only the owner of the batcher closes over etcd: it knows no API types.
 *
 * A transaction that goes unanswered for `stallMs` gives up its slot (it stays in flight and is
 * answered as usual): etcd answers a proposal that went to a leader which then died only at its
 * request timeout (5 s + 2 × election timeout, 7 s by default), and while two such batches held
 * both slots every later write of the control plane waited behind them, node lease renewals
 * included, long after a new leader was elected (agents fenced when the raft leader was killed).
 * Without a reply etcd ends each stalled call by that timeout, so they cannot pile up beyond
 * about one per `stallMs` of it.
 */
import type { ICompare, IKeyValue, IPutRequest, ITxnRequest, ITxnResponse } from "etcd3";
import { type Clock, realClock } from "../../foundation/util/clock.js";

export interface ConditionalPut {
  /** Each with `key`, target Create or Mod, result Equal. */
  compare: ICompare[];
  put: IPutRequest & { key: Buffer };
}

export type PutOutcome =
  | { ok: true; revision: string }
  /** What etcd holds now under each compared key (latin1 key → kv, undefined when absent). */
  | { ok: false; current: ReadonlyMap<string, IKeyValue | undefined> };

export interface TxnBatcherOptions {
  /** Batches in flight at once. Default 2: one being applied while the next one fills. */
  maxInFlight?: number;
  /** Puts per batch; etcd refuses more than 128 operations (its --max-txn-ops). Default 48. */
  maxPuts?: number;
  /** Compares per batch, also limited by --max-txn-ops. Default 120. */
  maxCompares?: number;
  /** Bytes of values per batch, well below etcd's 1.5 MiB request limit. Default 1 MiB. */
  maxBytes?: number;
  /**
   * How long a transaction holds its slot unanswered. Default 1 s: etcd's election timeout, so a
   * write that waits on a dead leader stops holding back others once a new one can be elected,
   * and well above a healthy write's time (one fsync, some hundreds of ms on a slow disk).
   */
  stallMs?: number;
  clock?: Clock;
}

interface Pending {
  op: ConditionalPut;
  /** Sent in a batch of its own: after an error, or after losing a batch twice. */
  alone: boolean;
  /** In a batch that failed with an error, which etcd may have applied all the same. */
  mayHaveApplied: boolean;
  rounds: number;
  resolve(outcome: PutOutcome): void;
  reject(err: unknown): void;
}

export class TxnBatcher {
  private queue: Pending[] = [];
  /** Batches in flight that have not yet stalled. */
  private slotsHeld = 0;
  private readonly maxInFlight: number;
  private readonly maxPuts: number;
  private readonly maxCompares: number;
  private readonly maxBytes: number;
  private readonly stallMs: number;
  private readonly clock: Clock;

  constructor(
    private readonly send: (req: ITxnRequest) => Promise<ITxnResponse>,
    opts: TxnBatcherOptions = {},
  ) {
    this.maxInFlight = opts.maxInFlight ?? 2;
    this.maxPuts = opts.maxPuts ?? 48;
    this.maxCompares = opts.maxCompares ?? 120;
    this.maxBytes = opts.maxBytes ?? 1024 * 1024;
    this.stallMs = opts.stallMs ?? 1_000;
    this.clock = opts.clock ?? realClock;
  }

  /** Applies `op` when its compares hold; otherwise reports what the compared keys hold now. */
  submit(op: ConditionalPut): Promise<PutOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ op, alone: false, mayHaveApplied: false, rounds: 0, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.slotsHeld < this.maxInFlight && this.queue.length > 0) {
      const batch = this.take();
      this.slotsHeld++;
      let holding = true;
      const release = () => {
        if (holding) this.slotsHeld--;
        holding = false;
        // Also when a stalled batch ends: what it put back in the queue must go out.
        this.pump();
      };
      const stalled = this.clock.setTimer(this.stallMs, release);
      void this.run(batch).finally(() => {
        stalled.cancel();
        release();
      });
    }
  }

  /** The next batch, in arrival order; an operation that does not fit waits for a later one. */
  private take(): Pending[] {
    const first = this.queue[0]!;
    if (first.alone) return this.queue.splice(0, 1);
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    // etcd refuses a transaction that puts one key twice.
    const keys = new Set<string>();
    let compares = 0;
    let bytes = 0;
    for (const p of this.queue) {
      const key = p.op.put.key.toString("latin1");
      const size = p.op.put.value?.length ?? 0;
      const fits =
        !p.alone &&
        batch.length < this.maxPuts &&
        !keys.has(key) &&
        compares + p.op.compare.length <= this.maxCompares &&
        (batch.length === 0 || bytes + size <= this.maxBytes);
      if (!fits) {
        rest.push(p);
        continue;
      }
      batch.push(p);
      keys.add(key);
      compares += p.op.compare.length;
      bytes += size;
    }
    this.queue = rest;
    return batch;
  }

  private async run(batch: Pending[]): Promise<void> {
    const compareKeys = new Map<string, Buffer>();
    for (const p of batch) for (const c of p.op.compare) compareKeys.set(c.key!.toString("latin1"), c.key!);
    let res: ITxnResponse;
    try {
      res = await this.send({
        compare: batch.flatMap((p) => p.op.compare),
        success: batch.map((p) => ({ request_put: p.op.put })),
        failure: [...compareKeys.values()].map((key) => ({ request_range: { key } })),
      });
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      // Whose fault was it? Each goes again on its own, so only that one fails.
      for (const p of batch) p.mayHaveApplied = true;
      this.requeue(batch, true);
      return;
    }
    if (res.succeeded) {
      for (const p of batch) p.resolve({ ok: true, revision: res.header.revision });
      return;
    }
    const current = new Map<string, IKeyValue | undefined>();
    for (const key of compareKeys.keys()) current.set(key, undefined);
    for (const r of res.responses) {
      for (const kv of r.response_range?.kvs ?? []) current.set(kv.key.toString("latin1"), kv);
    }
    const again: Pending[] = [];
    for (const p of batch) {
      const own = p.mayHaveApplied ? ownWrite(p.op, current) : undefined;
      if (own) p.resolve({ ok: true, revision: own.mod_revision });
      else if (batch.length > 1 && p.op.compare.every((c) => holds(c, current))) again.push(p);
      else p.resolve({ ok: false, current });
    }
    this.requeue(again, false);
  }

  /** Puts operations back at the head of the queue; after two lost batches they go alone. */
  private requeue(ops: Pending[], alone: boolean): void {
    for (const p of ops) {
      p.rounds++;
      p.alone = alone || p.rounds >= 2;
    }
    this.queue.unshift(...ops);
  }
}

/**
 * The key as `op` left it, when it holds exactly the bytes `op` put. An error does not say that
 * etcd did not apply the transaction (a timeout after the commit, a leader lost after replicating
 * it): resent alone, the write then fails its own compares against itself, and a create would
 * answer AlreadyExists for the object it made. Bytes equal to the put's are taken as this write's:
 * objects carry their uid and timestamps, and if another write put the very same bytes, the key
 * holds what this one asked for.
 */
function ownWrite(
  op: ConditionalPut,
  current: ReadonlyMap<string, IKeyValue | undefined>,
): IKeyValue | undefined {
  const kv = current.get(op.put.key.toString("latin1"));
  return kv && op.put.value?.equals(kv.value) ? kv : undefined;
}

/** Whether one compare (target Create or Mod, result Equal) holds for what etcd holds now. */
function holds(c: ICompare, current: ReadonlyMap<string, IKeyValue | undefined>): boolean {
  const kv = current.get(c.key!.toString("latin1"));
  if (c.target === "Create") return String(kv?.create_revision ?? 0) === String(c.create_revision ?? 0);
  if (c.target === "Mod") return String(kv?.mod_revision ?? 0) === String(c.mod_revision ?? 0);
  return false;
}
