import { describe, expect, it } from "vitest";
import { FakeClock } from "../../../foundation/util/clock.js";
import { startAllocationRepair } from "./index.js";

const settle = () => new Promise((resolve) => setImmediate(resolve));
const empty = { released: [], restored: [], duplicates: [] };

describe("startAllocationRepair", () => {
  it("repairs at once and then every interval until aborted, and a failed pass does not stop it", async () => {
    const clock = new FakeClock();
    const abort = new AbortController();
    const errors: unknown[] = [];
    let calls = 0;
    const loop = startAllocationRepair({
      repair: async () => {
        calls++;
        if (calls === 2) throw new Error("etcd unavailable");
        return empty;
      },
      signal: abort.signal,
      intervalMs: 1000,
      clock,
      onError: (_key, err) => errors.push(err),
    });
    await settle();
    expect(calls).toBe(1);
    clock.advance(999);
    await settle();
    expect(calls).toBe(1);
    clock.advance(1);
    await settle();
    clock.advance(1000);
    await settle();
    expect(calls).toBe(3);
    expect(errors).toEqual([new Error("etcd unavailable")]);
    abort.abort();
    await loop.done;
    clock.advance(5000);
    await settle();
    expect(calls).toBe(3);
  });
});
