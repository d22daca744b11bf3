/**
 * Expectations (kube-controller-manager's UIDTrackingControllerExpectations): what a controller
 * has asked for and not yet seen in its informer. After a ReplicaSet creates 3 pods, its cache
 * still shows none for a moment; without this record the next sync would create 3 more. A key's
 * sync manages replicas only while its expectations are satisfied: nothing outstanding, no record,
 * or the record is older than the TTL (a lost watch event must not wedge a controller forever).
 *
 * Deletions are tracked by pod key, so a pod observed twice (turning terminating, then gone)
 * lowers the count once.
 */
import type { Clock } from "../../../foundation/util/clock.js";

/** Kubernetes' ExpectationsTimeout: how long a sync waits for events it expects before acting anyway. */
export const defaultExpectationsTtlMs = 5 * 60 * 1000;

interface Record {
  adds: number;
  deletes: Set<string>;
  setAt: number;
}

export class Expectations {
  private readonly records = new Map<string, Record>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = defaultExpectationsTtlMs,
  ) {}

  /** True when `key` may act: no record, nothing outstanding, or the record has expired. */
  satisfied(key: string): boolean {
    const r = this.records.get(key);
    if (!r) return true;
    if (r.adds <= 0 && r.deletes.size === 0) return true;
    return this.clock.now() - r.setAt > this.ttlMs;
  }

  /** Replaces the record of `key`: `count` creations are now in flight. */
  expectCreations(key: string, count: number): void {
    this.expect(key, count, []);
  }

  /** Replaces the record of `key`: the objects `childKeys` are being deleted. */
  expectDeletions(key: string, childKeys: readonly string[]): void {
    this.expect(key, 0, childKeys);
  }

  /** Replaces the record of `key`: `adds` creations and the deletions of `childKeys` are in flight. */
  expect(key: string, adds: number, childKeys: readonly string[]): void {
    this.records.set(key, { adds, deletes: new Set(childKeys), setAt: this.clock.now() });
  }

  /** One creation was seen in the cache, or failed so it never will be. */
  creationObserved(key: string): void {
    const r = this.records.get(key);
    if (r) r.adds--;
  }

  /** `childKey` was seen terminating or gone, or its deletion failed. Repeats are ignored. */
  deletionObserved(key: string, childKey: string): void {
    this.records.get(key)?.deletes.delete(childKey);
  }

  /** Forgets `key` (its owner is gone). */
  delete(key: string): void {
    this.records.delete(key);
  }
}
