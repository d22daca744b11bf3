import { describe, expect, it } from "vitest";
import { detachedJws, verifyDetachedJws } from "./jws.js";

describe("detached JWS of cluster-info", () => {
  it("is kubeadm's form: an HS256 header naming the token id, no payload, a signature", () => {
    const jws = detachedJws("content", "abcdef", "0123456789abcdef");
    const [header, payload, signature] = jws.split(".");
    expect(JSON.parse(Buffer.from(header!, "base64url").toString())).toEqual({ alg: "HS256", kid: "abcdef" });
    expect(payload).toBe("");
    expect(signature).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("verifies only with the same content and the same token", () => {
    const jws = detachedJws("content", "abcdef", "0123456789abcdef");
    expect(verifyDetachedJws("content", jws, "abcdef", "0123456789abcdef")).toBe(true);
    expect(verifyDetachedJws("content!", jws, "abcdef", "0123456789abcdef")).toBe(false);
    expect(verifyDetachedJws("content", jws, "abcdef", "0123456789abcdeg")).toBe(false);
    expect(verifyDetachedJws("content", jws, "abcdeg", "0123456789abcdef")).toBe(false);
    expect(verifyDetachedJws("content", "", "abcdef", "0123456789abcdef")).toBe(false);
  });
});
