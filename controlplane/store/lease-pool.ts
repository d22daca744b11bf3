/**
 * etcd leases for objects that expire (Events), shared like Kubernetes' storage LeaseManager: one
 * lease serves every object created within a short reuse window, so an expiring create costs one
 * etcd round trip instead of two, and etcd holds a few leases instead of one per Event. A shared
 * lease is granted for `ttl + reuse window`, so every object still lives at least `ttl` seconds
 * and at most 5% longer.
 */
import type { Clock } from "../../foundation/util/clock.js";

/** Kubernetes' LeaseReuseDurationPercent: a lease is reused for 5% of its TTL. */
const reuseFraction = 0.05;

interface Granted {
  id: Promise<string>;
  /** When the lease runs out, in clock milliseconds. */
  expiresAt: number;
  /** The lease ID once etcd granted it. */
  resolved?: string;
}

export class LeasePool {
  private readonly byTtl = new Map<number, Granted>();

  constructor(
    private readonly clock: Clock,
    private readonly grant: (ttlSeconds: number) => Promise<string>,
  ) {}

  /** A lease that lives at least `ttlSeconds` more seconds from now. */
  lease(ttlSeconds: number): Promise<string> {
    const reuse = Math.floor(ttlSeconds * reuseFraction);
    if (reuse === 0) return this.grant(ttlSeconds);
    const now = this.clock.now();
    const held = this.byTtl.get(ttlSeconds);
    if (held && held.expiresAt - now >= ttlSeconds * 1000) return held.id;
    const id = this.grant(ttlSeconds + reuse);
    const granted: Granted = { id, expiresAt: now + (ttlSeconds + reuse) * 1000 };
    this.byTtl.set(ttlSeconds, granted);
    id.then(
      (resolved) => {
        granted.resolved = resolved;
      },
      () => {
        if (this.byTtl.get(ttlSeconds) === granted) this.byTtl.delete(ttlSeconds);
      },
    );
    return id;
  }

  /** Drops a lease that etcd no longer has (revoked), so the next call grants a new one. */
  forget(id: string): void {
    for (const [ttl, granted] of this.byTtl) if (granted.resolved === id) this.byTtl.delete(ttl);
  }
}
