import type { IKeyValue, ITxnRequest, ITxnResponse } from "etcd3";
import { describe, expect, it } from "vitest";
import { FakeClock } from "../../foundation/util/clock.js";
import { type ConditionalPut, TxnBatcher } from "./txn-batcher.js";

/** etcd's transaction semantics over a map, with calls released by hand so batches can form. */
class FakeKv {
  readonly kvs = new Map<string, IKeyValue>();
  revision = 1;
  readonly calls: ITxnRequest[] = [];
  /** The calls not yet answered, by their index in `calls`. */
  private readonly waiting = new Map<number, (err?: Error) => void>();
  failWhen: ((req: ITxnRequest) => boolean) | undefined;

  send = (req: ITxnRequest): Promise<ITxnResponse> => {
    const index = this.calls.push(req) - 1;
    return new Promise((resolve, reject) => {
      this.waiting.set(index, (err) => {
        if (err) reject(err);
        else if (this.failWhen?.(req)) reject(new Error("etcdserver: requested lease not found"));
        else resolve(this.apply(req));
      });
    });
  };

  /** Lets every call sent so far complete, and those they send in turn. */
  async release(): Promise<void> {
    while (this.waiting.size > 0) {
      for (const index of [...this.waiting.keys()]) await this.answer(index);
    }
  }

  /** Lets one call complete, applied or failed with `err`. */
  async answer(index: number, err?: Error): Promise<void> {
    const go = this.waiting.get(index);
    if (!go) throw new Error(`call ${index} is not waiting`);
    this.waiting.delete(index);
    go(err);
    await new Promise((r) => setImmediate(r));
  }

  /** Applies one call and then fails it with `err`, as etcd may when it times out after a commit. */
  async applyAndFail(index: number, err: Error): Promise<void> {
    this.apply(this.calls[index]!);
    await this.answer(index, err);
  }

  private apply(req: ITxnRequest): ITxnResponse {
    const ok = (req.compare ?? []).every((c) => {
      const kv = this.kvs.get(c.key!.toString());
      const have = c.target === "Create" ? (kv?.create_revision ?? "0") : (kv?.mod_revision ?? "0");
      return have === String(c.target === "Create" ? c.create_revision : c.mod_revision);
    });
    const header = { revision: String(this.revision) } as ITxnResponse["header"];
    if (!ok) {
      const responses = (req.failure ?? []).map((op) => {
        const kv = this.kvs.get(op.request_range!.key!.toString());
        return { response_range: { kvs: kv ? [kv] : [] } };
      });
      return { header, succeeded: false, responses } as unknown as ITxnResponse;
    }
    this.revision++;
    const rev = String(this.revision);
    for (const op of req.success ?? []) {
      const key = op.request_put!.key!;
      const old = this.kvs.get(key.toString());
      this.kvs.set(key.toString(), {
        key,
        value: op.request_put!.value!,
        create_revision: old?.create_revision ?? rev,
        mod_revision: rev,
      } as IKeyValue);
    }
    return { header: { revision: rev }, succeeded: true, responses: [] } as unknown as ITxnResponse;
  }
}

const create = (key: string, value = "v"): ConditionalPut => ({
  compare: [{ key: Buffer.from(key), target: "Create", result: "Equal", create_revision: 0 }],
  put: { key: Buffer.from(key), value: Buffer.from(value) },
});

const update = (key: string, expected: string, value: string): ConditionalPut => ({
  compare: [{ key: Buffer.from(key), target: "Mod", result: "Equal", mod_revision: expected }],
  put: { key: Buffer.from(key), value: Buffer.from(value) },
});

describe("TxnBatcher", () => {
  it("sends the first write at once and those that arrive meanwhile together, at one revision", async () => {
    const kv = new FakeKv();
    const batcher = new TxnBatcher(kv.send, { maxInFlight: 1 });
    const first = batcher.submit(create("a"));
    const rest = ["b", "c", "d"].map((k) => batcher.submit(create(k)));
    expect(kv.calls).toHaveLength(1);
    await kv.release();
    const outcomes = await Promise.all([first, ...rest]);
    expect(kv.calls.map((c) => c.success?.length)).toEqual([1, 3]);
    expect(outcomes.map((o) => o.ok && o.revision)).toEqual(["2", "3", "3", "3"]);
  });

  it("answers a stale write from the batch's reads and applies the others", async () => {
    const kv = new FakeKv();
    const batcher = new TxnBatcher(kv.send, { maxInFlight: 1 });
    const blocker = batcher.submit(create("x"));
    const taken = batcher.submit(create("x2"));
    await kv.release();
    await Promise.all([blocker, taken]);
    const stale = batcher.submit(update("x", "1", "late"));
    const fresh = batcher.submit(update("x2", "3", "new"));
    const brandNew = batcher.submit(create("y"));
    await kv.release();
    const [s, f, n] = await Promise.all([stale, fresh, brandNew]);
    expect(s.ok).toBe(false);
    if (!s.ok) expect(s.current.get("x")?.mod_revision).toBe("2");
    expect(f.ok && n.ok).toBe(true);
    expect(kv.kvs.get("x2")?.value.toString()).toBe("new");
    expect(kv.kvs.get("y")).toBeDefined();
  });

  it("never puts one key twice in a transaction", async () => {
    const kv = new FakeKv();
    const batcher = new TxnBatcher(kv.send, { maxInFlight: 1 });
    const first = batcher.submit(create("z"));
    const again = [batcher.submit(create("k")), batcher.submit(create("k")), batcher.submit(create("m"))];
    await kv.release();
    const [, k1, k2, m] = await Promise.all([first, ...again]);
    expect(kv.calls.map((c) => c.success?.map((op) => op.request_put!.key!.toString()))).toEqual([
      ["z"],
      ["k", "m"],
      ["k"],
    ]);
    expect([k1.ok, k2.ok, m.ok]).toEqual([true, false, true]);
  });

  it("after an etcd error resends each write alone, so only the faulty one fails", async () => {
    const kv = new FakeKv();
    const batcher = new TxnBatcher(kv.send, { maxInFlight: 1 });
    kv.failWhen = (req) => (req.success ?? []).some((op) => op.request_put!.value!.toString() === "bad");
    const first = batcher.submit(create("p"));
    const good = batcher.submit(create("q"));
    const bad = batcher.submit(create("r", "bad")).catch((err: unknown) => err);
    await kv.release();
    await expect(first).resolves.toMatchObject({ ok: true });
    await expect(good).resolves.toMatchObject({ ok: true });
    expect(String(await bad)).toContain("lease not found");
    expect(kv.kvs.has("r")).toBe(false);
  });

  it("answers ok for a write of a batch that etcd applied but answered with an error", async () => {
    const kv = new FakeKv();
    const batcher = new TxnBatcher(kv.send, { maxInFlight: 1 });
    kv.kvs.set("u", {
      key: Buffer.from("u"),
      value: Buffer.from("old"),
      create_revision: "1",
      mod_revision: "1",
    } as IKeyValue);
    const first = batcher.submit(create("p"));
    const pair = [batcher.submit(create("q")), batcher.submit(update("u", "1", "new"))];
    await kv.answer(0);
    await first;
    await kv.applyAndFail(1, new Error("etcdserver: request timed out"));
    await kv.release();
    // Resent alone, each finds its own write in place of what it compared.
    await expect(Promise.all(pair)).resolves.toEqual([
      { ok: true, revision: "3" },
      { ok: true, revision: "3" },
    ]);
    // Another writer's value under the key is still a conflict.
    const later = batcher.submit(create("s"));
    const raced = [batcher.submit(create("t")), batcher.submit(update("u", "3", "mine"))];
    await kv.answer(4);
    await later;
    kv.kvs.set("u", {
      key: Buffer.from("u"),
      value: Buffer.from("theirs"),
      create_revision: "1",
      mod_revision: "9",
    } as IKeyValue);
    await kv.answer(5, new Error("etcdserver: request timed out"));
    await kv.release();
    const [t, u] = await Promise.all(raced);
    expect(t.ok).toBe(true);
    expect(u.ok).toBe(false);
  });

  it("keeps batches within the put and compare limits", async () => {
    const kv = new FakeKv();
    const batcher = new TxnBatcher(kv.send, { maxInFlight: 1, maxPuts: 2 });
    const all = ["a", "b", "c", "d", "e"].map((k) => batcher.submit(create(k)));
    await kv.release();
    await Promise.all(all);
    expect(kv.calls.map((c) => c.success?.length)).toEqual([1, 2, 2]);
  });

  it("lets later writes go out while two transactions wait on a dead etcd leader", async () => {
    const kv = new FakeKv();
    const clock = new FakeClock();
    const batcher = new TxnBatcher(kv.send, { maxInFlight: 2, stallMs: 1_000, clock });
    // Both slots taken by transactions whose proposals went to the leader as it was killed: etcd
    // answers them only at its request timeout, 7 s later.
    const lost = [create("a"), create("b")].map((op) =>
      batcher.submit(op).then(
        () => "applied",
        (err: unknown) => String(err),
      ),
    );
    const renewal = batcher.submit(create("lease"));
    clock.advance(999);
    expect(kv.calls).toHaveLength(2);
    clock.advance(1);
    expect(kv.calls).toHaveLength(3);
    await kv.answer(2);
    await expect(renewal).resolves.toMatchObject({ ok: true });
    // The stalled ones end as etcd answers them, as they always did.
    const timedOut = new Error("etcdserver: request timed out, possibly due to previous leader failure");
    await kv.answer(0, timedOut);
    await kv.answer(1, timedOut);
    expect(await Promise.all(lost)).toEqual([String(timedOut), String(timedOut)]);
    expect([...kv.kvs.keys()]).toEqual(["lease"]);
  });

  it("sends again what a batch that ended after stalling put back", async () => {
    const kv = new FakeKv();
    const clock = new FakeClock();
    const batcher = new TxnBatcher(kv.send, { maxInFlight: 1, stallMs: 1_000, clock });
    const first = batcher.submit(create("x"));
    const pair = [batcher.submit(create("y")), batcher.submit(create("z"))];
    await kv.answer(0);
    await first;
    clock.advance(1_000);
    // The batch of y and z no longer holds the slot; it fails, and each goes again on its own.
    await kv.answer(1, new Error("etcdserver: request timed out"));
    await kv.release();
    await expect(Promise.all(pair)).resolves.toMatchObject([{ ok: true }, { ok: true }]);
    expect(kv.calls.map((c) => c.success?.length)).toEqual([1, 2, 1, 1]);
  });
});
