import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../foundation/api/object.js";
import { bootstrapTokenSecret, describeBootstrapTokens } from "../../foundation/bootstrap/token-format.js";
import { ObjectCache } from "../client/object-cache.js";
import { authenticateBootstrapToken, signingTokens } from "./bootstrap-tokens.js";

const now = Date.parse("2026-01-01T00:00:00Z");

function cacheOf(...secrets: KubeObject[]) {
  const cache = new ObjectCache<KubeObject>();
  for (const s of secrets) cache.put(s);
  return cache;
}

describe("bootstrap tokens", () => {
  it("always expire: a TTL of 0 or less is refused, as is a use count below 1", () => {
    expect(() => bootstrapTokenSecret({ token: "abcdef.0123456789abcdef", ttlSeconds: 0 })).toThrow(
      /must expire/,
    );
    expect(() => bootstrapTokenSecret({ token: "abcdef.0123456789abcdef", ttlSeconds: -5 })).toThrow(
      /must expire/,
    );
    expect(() =>
      bootstrapTokenSecret({ token: "abcdef.0123456789abcdef", ttlSeconds: 60, maxUses: 0 }),
    ).toThrow(/maxUses/);
  });

  it("authenticate and sign cluster-info only while live: not expired, not used up", () => {
    const live = bootstrapTokenSecret({ token: "aaaaaa.0123456789abcdef", ttlSeconds: 60, now });
    const expired = bootstrapTokenSecret({
      token: "bbbbbb.0123456789abcdef",
      ttlSeconds: 60,
      now: now - 61_000,
    });
    const usedUp = bootstrapTokenSecret({
      token: "cccccc.0123456789abcdef",
      ttlSeconds: 60,
      maxUses: 1,
      now,
    });
    usedUp.data = { ...usedUp.data, "uses-remaining": Buffer.from("0").toString("base64") };
    const cache = cacheOf(live, expired, usedUp);
    expect(authenticateBootstrapToken(cache as never, "aaaaaa.0123456789abcdef", now)?.name).toBe(
      "system:bootstrap:aaaaaa",
    );
    expect(authenticateBootstrapToken(cache as never, "bbbbbb.0123456789abcdef", now)).toBeUndefined();
    expect(authenticateBootstrapToken(cache as never, "cccccc.0123456789abcdef", now)).toBeUndefined();
    expect(signingTokens(cache as never, now)).toEqual([{ id: "aaaaaa", secret: "0123456789abcdef" }]);
    expect(describeBootstrapTokens([live, usedUp]).map((t) => t.usesRemaining)).toEqual([undefined, 0]);
  });
});
