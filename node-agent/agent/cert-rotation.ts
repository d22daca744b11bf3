/**
 * Client certificate rotation, as the kubelet's: the node's certificate lives about a year
 * (controlplane/bootstrap/join-endpoint.ts), and at 80% of its life the agent asks the control
 * plane for a new one, authenticating with the current one, for the same key (the key is what
 * holds the node's name). The new certificate is saved with the identity and used for every new
 * NodeService connection; open ones stay valid, as TLS checks a certificate at the handshake only.
 * A failed renewal is retried every `retryMs` until it works or the certificate runs out.
 */
import { X509Certificate } from "node:crypto";
import { request } from "node:https";
import { nodeCertificatePath } from "../../foundation/bootstrap/join-protocol.js";
import { makeCsr } from "../../foundation/pki/pki.js";
import type { Clock, Timer } from "../../foundation/util/clock.js";
import type { NodeIdentity } from "./credentials.js";

/** When to renew: at 80% of the way from notBefore to notAfter, or now when that has passed. */
export function renewalDelayMs(certPem: string, nowMs: number): number {
  const cert = new X509Certificate(certPem);
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  // notBefore Dec 7 2026, notAfter Dec 7 2027 → renew around Sep 25 2027.
  return Math.max(0, from + 0.8 * (to - from) - nowMs);
}

/** Asks `identity.server` for a new certificate for the identity's key, authenticated by the current one. */
export async function requestRenewedCertificate(identity: NodeIdentity): Promise<string> {
  const csr = await makeCsr(identity.keyPem, `system:node:${identity.nodeName}`);
  const payload = JSON.stringify({ csr });
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(nodeCertificatePath, identity.server),
      {
        method: "POST",
        ca: identity.caPem,
        cert: identity.certPem,
        key: identity.keyPem,
        headers: { "content-type": "application/json" },
        timeout: 15_000,
      },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => {
          if (res.statusCode !== 201) {
            let message = text;
            try {
              message = (JSON.parse(text) as { message?: string }).message ?? text;
            } catch {
              // not a Status: keep the raw answer
            }
            reject(new Error(`renew certificate at ${identity.server}: HTTP ${res.statusCode}: ${message}`));
            return;
          }
          resolve((JSON.parse(text) as { certificatePem: string }).certificatePem);
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`renew certificate at ${identity.server}: timed out`)));
    req.on("error", reject);
    req.end(payload);
  });
}

export interface RotationOptions {
  clock: Clock;
  /** The current certificate (read again after each renewal through `renewed`). */
  certPem: () => string;
  renew: () => Promise<string>;
  /** Takes the new certificate into use (save it, reconnect with it). */
  renewed: (certPem: string) => Promise<void>;
  /** Reports a failed attempt; it is retried. */
  failed: (err: Error) => void;
  retryMs?: number;
}

// setTimeout fires at once for delays past 2^31-1 ms (about 24.8 days): longer waits are chained.
const maxTimerMs = 2 ** 31 - 1;

export function startCertificateRotation(opts: RotationOptions): { stop(): void } {
  const retryMs = opts.retryMs ?? 60_000;
  let timer: Timer | undefined;
  let stopped = false;
  const later = (ms: number, fn: () => void) => {
    if (!stopped) timer = opts.clock.setTimer(ms, fn);
  };
  const wake = (atLeastMs = 0) => {
    const ms = Math.max(renewalDelayMs(opts.certPem(), opts.clock.now()), atLeastMs);
    if (ms > 0) later(Math.min(ms, maxTimerMs), () => wake());
    else void attempt();
  };
  const attempt = async () => {
    try {
      await opts.renewed(await opts.renew());
      // A new certificate already due (a skewed clock, a short-lived CA) waits, rather than spins.
      wake(retryMs);
    } catch (err) {
      opts.failed(err as Error);
      later(retryMs, () => void attempt());
    }
  };
  wake();
  return {
    stop: () => {
      stopped = true;
      timer?.cancel();
    },
  };
}
