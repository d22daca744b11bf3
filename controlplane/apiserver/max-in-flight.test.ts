import { describe, expect, it } from "vitest";
import { InFlightLimiter, isLongRunning } from "./max-in-flight.js";

describe("the max-in-flight limiter", () => {
  it("counts reads and writes apart and gives a slot back once, however often released", () => {
    const limiter = new InFlightLimiter({ readonly: 2, mutating: 1 });
    const r1 = limiter.acquire("GET");
    limiter.acquire("HEAD");
    expect(() => limiter.acquire("GET")).toThrow(expect.objectContaining({ reason: "TooManyRequests" }));
    const w = limiter.acquire("POST");
    expect(() => limiter.acquire("DELETE")).toThrow(/Too many requests, please try again later\./);
    r1();
    r1();
    expect(limiter.inFlight()).toEqual({ readonly: 1, mutating: 1 });
    limiter.acquire("GET");
    expect(() => limiter.acquire("GET")).toThrow(
      expect.objectContaining({ details: { retryAfterSeconds: 1 } }),
    );
    w();
    expect(limiter.inFlight()).toEqual({ readonly: 2, mutating: 0 });
  });

  it("refuses limits that would shed everything or are not whole numbers, naming them", () => {
    expect(() => new InFlightLimiter({ readonly: 0, mutating: 1 })).toThrow(/readonly .* got 0/);
    expect(() => new InFlightLimiter({ readonly: 1, mutating: 1.5 })).toThrow(/mutating .* got 1.5/);
  });

  it("leaves watches and streams uncounted, as upstream's long-running check", () => {
    expect(isLongRunning(true, undefined)).toBe(true);
    for (const s of ["log", "exec", "attach", "portforward"]) expect(isLongRunning(false, s)).toBe(true);
    expect(isLongRunning(false, "status")).toBe(false);
    expect(isLongRunning(false, undefined)).toBe(false);
  });
});
