import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureCa, issueCertificate, type KeyPair } from "../../foundation/pki/pki.js";
import { FakeClock } from "../../foundation/util/clock.js";
import { renewalDelayMs, startCertificateRotation } from "./cert-rotation.js";

const day = 86_400_000;

describe("node certificate rotation", () => {
  let dir: string;
  let ca: KeyPair;
  const cert = async (validityDays: number) =>
    (
      await issueCertificate(ca, {
        commonName: "system:node:n1",
        organization: "system:nodes",
        client: true,
        validityDays,
      })
    ).certPem;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kctl-rotation-"));
    ca = await ensureCa(dir);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("renews at 80% of the certificate's life, at once when that has passed", async () => {
    const pem = await cert(10);
    const now = Date.now();
    // Issued now (to the second) for 10 days: renew 8 days on.
    expect(Math.abs(renewalDelayMs(pem, now) - 8 * day)).toBeLessThan(2_000);
    expect(renewalDelayMs(pem, now + 9 * day)).toBe(0);
  });

  it("renews a year's certificate once after ~292 days (through chained timers), then follows the new one", async () => {
    let current = await cert(365);
    const next = await cert(365);
    const clock = new FakeClock(Date.now());
    const renewed: string[] = [];
    const rotation = startCertificateRotation({
      clock,
      certPem: () => current,
      renew: async () => next,
      renewed: async (pem) => {
        renewed.push(pem);
        current = pem;
      },
      failed: (err) => {
        throw err;
      },
    });
    clock.advance(291 * day);
    await new Promise((r) => setImmediate(r));
    expect(renewed).toEqual([]);
    clock.advance(2 * day);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(renewed).toEqual([next]);
    rotation.stop();
  });

  it("retries a failed renewal every retryMs, reporting each failure, and stops when told", async () => {
    const clock = new FakeClock(Date.now() + 9 * day);
    const pem = await cert(10);
    const failures: string[] = [];
    let attempts = 0;
    const rotation = startCertificateRotation({
      clock,
      certPem: () => pem,
      renew: async () => {
        attempts++;
        throw new Error("control plane unreachable");
      },
      renewed: async () => {},
      failed: (err) => failures.push(err.message),
      retryMs: 60_000,
    });
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(attempts).toBe(1);
    clock.advance(60_000);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(attempts).toBe(2);
    expect(failures).toEqual(["control plane unreachable", "control plane unreachable"]);
    rotation.stop();
    clock.advance(600_000);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(attempts).toBe(2);
  });
});
