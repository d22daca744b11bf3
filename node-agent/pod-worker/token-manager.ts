/**
 * The ServiceAccount tokens of this node's pods, as the kubelet's token manager keeps them: one
 * per pod, audience and lifetime, asked from the control plane once and again when 80% of its
 * life (or 24 hours) has passed, so a pod's token file is rewritten well before it expires while
 * the volume refresh that reads it every few seconds costs no call.
 */
import type { Clock } from "../../foundation/util/clock.js";
import { parseTime } from "../../foundation/util/time.js";

export interface PodTokenKey {
  namespace: string;
  pod: string;
  podUid: string;
  /** Empty: the apiserver's own audience. */
  audience: string;
  expirationSeconds: number;
}

export interface IssuedPodToken {
  token: string;
  /** RFC 3339. */
  expirationTimestamp: string;
}

const maxAgeMs = 24 * 3600 * 1000;

interface Held {
  token: string;
  issuedAt: number;
  expiresAt: number;
}

export class TokenManager {
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly fetch: (key: PodTokenKey) => Promise<IssuedPodToken>,
    private readonly clock: Clock,
  ) {}

  async token(key: PodTokenKey): Promise<string> {
    const now = this.clock.now();
    this.prune(now);
    const id = JSON.stringify([key.podUid, key.audience, key.expirationSeconds]);
    const held = this.held.get(id);
    if (held && !this.needsRefresh(held, now)) return held.token;
    const issued = await this.fetch(key);
    const expiresAt = parseTime(issued.expirationTimestamp) ?? now + key.expirationSeconds * 1000;
    this.held.set(id, { token: issued.token, issuedAt: now, expiresAt });
    return issued.token;
  }

  private needsRefresh(held: Held, now: number): boolean {
    const age = now - held.issuedAt;
    return age > 0.8 * (held.expiresAt - held.issuedAt) || age > maxAgeMs;
  }

  /** Tokens of pods long gone are dropped once they expire; nothing else holds them. */
  private prune(now: number): void {
    for (const [id, held] of this.held) if (held.expiresAt <= now) this.held.delete(id);
  }
}
