import { describe, expect, it } from "vitest";
import { FakeClock } from "../../foundation/util/clock.js";
import { rfc3339 } from "../../foundation/util/time.js";
import { type PodTokenKey, TokenManager } from "./token-manager.js";

const key: PodTokenKey = {
  namespace: "shop",
  pod: "web",
  podUid: "u1",
  audience: "",
  expirationSeconds: 3607,
};

describe("TokenManager", () => {
  it("asks once, then again after 80% of the token's life", async () => {
    const clock = new FakeClock(Date.parse("2026-12-06T12:00:00Z"));
    const asked: number[] = [];
    const tokens = new TokenManager(async (k) => {
      asked.push(clock.now());
      return {
        token: `t${asked.length}`,
        expirationTimestamp: rfc3339(clock.now() + k.expirationSeconds * 1000),
      };
    }, clock);
    expect(await tokens.token(key)).toBe("t1");
    clock.advance(2800_000);
    expect(await tokens.token(key)).toBe("t1");
    clock.advance(100_000);
    expect(await tokens.token(key)).toBe("t2");
    expect(await tokens.token({ ...key, audience: "vault" })).toBe("t3");
    expect(asked).toHaveLength(3);
  });
});
