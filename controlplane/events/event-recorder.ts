/**
 * Records Events about API objects, the way `kubectl describe` shows them. Repeats of the same
 * (object, type, reason, message) within the aggregation window bump `count` and `lastTimestamp`
 * on the first Event instead of creating new ones, like client-go's event correlator. Recording
 * never throws and never blocks the caller: an Event is best-effort and is dropped (and traced)
 * when it cannot be written.
 */

import type { KubeObject } from "../../foundation/api/object.js";
import { resourceForKind } from "../../foundation/api/resources.js";
import { type Clock, realClock } from "../../foundation/util/clock.js";
import { rfc3339 } from "../../foundation/util/time.js";
import { tracer } from "../../foundation/util/trace.js";
import type { Event, ObjectMeta, ObjectReference } from "../../proto/gen/api.js";
import type { Registry } from "../registry/index.js";

const trace = tracer("events");
const events = resourceForKind("v1", "Event")!;

export type EventType = "Normal" | "Warning";

/** The part of an object an Event refers to. */
export interface EventSubject {
  apiVersion?: string;
  kind?: string;
  metadata?: Pick<ObjectMeta, "name" | "namespace" | "uid" | "resourceVersion">;
}

export interface EventSink {
  event(subject: EventSubject, type: EventType, reason: string, message: string): void;
}

export interface EventRecorderOptions {
  registry: Registry;
  /** Reporting component, e.g. "default-scheduler", "replicaset-controller". */
  component: string;
  host?: string;
  clock?: Clock;
  /** Repeats within this window are folded into one Event. Default 10 minutes. */
  aggregateWindowMs?: number;
  /** At most this many distinct recent events are remembered for folding. Default 4096. */
  cacheSize?: number;
}

interface Recent {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
  at: number;
  /** Serialises writes of one Event so counts never go backwards. */
  chain: Promise<void>;
}

export class EventRecorder implements EventSink {
  private readonly recent = new Map<string, Recent>();
  private readonly clock: Clock;
  private readonly window: number;
  private readonly cacheSize: number;
  private pending = new Set<Promise<void>>();

  constructor(private readonly opts: EventRecorderOptions) {
    this.clock = opts.clock ?? realClock;
    this.window = opts.aggregateWindowMs ?? 600_000;
    this.cacheSize = opts.cacheSize ?? 4096;
  }

  event(subject: EventSubject, type: EventType, reason: string, message: string): void {
    const meta = subject.metadata ?? {};
    const namespace = meta.namespace || "default";
    const key = [meta.uid ?? `${namespace}/${meta.name}`, type, reason, message].join("\u0000");
    const now = this.clock.now();
    const timestamp = rfc3339(now);
    const seen = this.recent.get(key);
    if (seen && now - seen.at < this.window) {
      seen.count++;
      seen.at = now;
      const count = seen.count;
      seen.chain = seen.chain.then(() =>
        this.opts.registry.patch(events, seen.namespace, seen.name, { count, lastTimestamp: timestamp }).then(
          () => undefined,
          (err: unknown) => trace("dropped event update", seen.name, String(err)),
        ),
      );
      this.track(seen.chain);
      return;
    }
    const involvedObject: ObjectReference = {
      apiVersion: subject.apiVersion ?? "v1",
      kind: subject.kind ?? "",
      name: meta.name ?? "",
      namespace: meta.namespace ?? "",
      ...(meta.uid ? { uid: meta.uid } : {}),
      ...(meta.resourceVersion ? { resourceVersion: meta.resourceVersion } : {}),
    };
    const name = `${meta.name ?? "object"}.${now.toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
    const event: Event = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace },
      involvedObject,
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: timestamp,
      lastTimestamp: timestamp,
      source: { component: this.opts.component, ...(this.opts.host ? { host: this.opts.host } : {}) },
      reportingComponent: this.opts.component,
    };
    const entry: Recent = {
      name,
      namespace,
      count: 1,
      firstTimestamp: timestamp,
      at: now,
      chain: Promise.resolve(),
    };
    entry.chain = this.opts.registry.create(events, event as KubeObject).then(
      () => undefined,
      (err: unknown) => trace("dropped event", name, String(err)),
    );
    this.track(entry.chain);
    this.recent.set(key, entry);
    if (this.recent.size > this.cacheSize) this.recent.delete(this.recent.keys().next().value as string);
  }

  /** Resolves when every write started so far has finished (for tests and shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }
}
