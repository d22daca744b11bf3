import { describe, expect, it } from "vitest";
import { FakeClock } from "../../controlplane/util/clock.js";
import { CrashBackoff } from "./crash-backoff.js";

describe("CrashBackoff", () => {
  it("restarts at once, then waits 10 s doubling to 300 s", () => {
    const clock = new FakeClock(0);
    const b = new CrashBackoff(clock);
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      const w = b.remaining("c");
      waits.push(w / 1000);
      clock.advance(w);
      b.restarted("c");
      b.exited("c", 1000);
    }
    expect(waits).toEqual([0, 10, 20, 40, 80, 160, 300, 300]);
  });

  it("forgets the back-off after a run of 10 minutes, and keys are independent", () => {
    const clock = new FakeClock(0);
    const b = new CrashBackoff(clock);
    b.restarted("a");
    b.restarted("a");
    expect(b.remaining("a")).toBe(20_000);
    expect(b.remaining("b")).toBe(0);
    b.exited("a", 599_999);
    expect(b.delay("a")).toBe(20_000);
    b.exited("a", 600_000);
    expect(b.remaining("a")).toBe(0);
    expect(b.delay("a")).toBe(0);
  });
});
