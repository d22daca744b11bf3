/**
 * A local copy of one cluster-wide kind (Services, Endpoints, Nodes; NetworkPolicies, Namespaces
 * and every node's Pods as peers, for NetworkPolicy), or of one ConfigMap or Secret the node's pods
 * name, that the agent follows over NodeService's WatchObjects stream: the full set on every
 * (re)connect, then changes. Consumers (the service proxy, host routes, service environment
 * variables, pod volumes) read `list()` or `get()` and are told when something changed; they never
 * depend on seeing every event, only on the latest state.
 */
import type { ClientReadableStream } from "@grpc/grpc-js";
import type { KubeObject } from "../../foundation/api/object.js";
import { objectKey } from "../../foundation/api/object.js";
import { tracer } from "../../foundation/util/trace.js";
import type { ObjectEvent } from "../../proto/gen/node.js";
import type { NodeClient } from "./node-client.js";
import { reconnectMaxMs } from "./node-link.js";

const trace = tracer("agent");

export type MirroredKind =
  | "Service"
  | "Endpoints"
  | "Node"
  | "NetworkPolicy"
  | "Namespace"
  | "Pod"
  | "ConfigMap"
  | "Secret";

/** One object to follow instead of the whole kind (ConfigMaps and Secrets: the node may read no others). */
export interface MirrorTarget {
  namespace: string;
  name: string;
}

export type MirrorListener<T> = (changed: readonly T[], removed: readonly T[], resynced: boolean) => void;

export class ObjectMirror<T extends KubeObject> {
  private readonly objects = new Map<string, T>();
  private readonly listeners: MirrorListener<T>[] = [];
  private stream: ClientReadableStream<ObjectEvent> | undefined;
  private stopped = false;
  private failures = 0;
  private retry: NodeJS.Timeout | undefined;
  private synced = false;
  private markSynced: () => void = () => {};
  private readonly firstSync = new Promise<void>((resolve) => (this.markSynced = resolve));

  constructor(
    private readonly client: Pick<NodeClient, "watchObjects">,
    private readonly nodeName: string,
    readonly kind: MirroredKind,
    private readonly target?: MirrorTarget,
  ) {}

  list(): T[] {
    return [...this.objects.values()];
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.objects.get(namespace ? `${namespace}/${name}` : name);
  }

  /** True while the stream is up and has sent the current set: `list()` and `get()` are current. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first full set has arrived (never, if it never does). */
  whenSynced(): Promise<void> {
    return this.firstSync;
  }

  onChange(listener: MirrorListener<T>): void {
    this.listeners.push(listener);
  }

  start(): void {
    if (this.stopped) return;
    const stream = this.client.watchObjects({
      nodeName: this.nodeName,
      kind: this.kind,
      namespace: this.target?.namespace ?? "",
      name: this.target?.name ?? "",
    });
    this.stream = stream;
    stream.on("data", (e: ObjectEvent) => {
      this.failures = 0;
      this.apply(e);
    });
    const broken = (why: string) => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      this.synced = false;
      if (this.stopped) return;
      trace(`${this.kind} stream ended`, why);
      const delay = Math.min(500 * 2 ** this.failures++, reconnectMaxMs);
      this.retry = setTimeout(() => this.start(), delay);
    };
    stream.on("error", (err: Error) => broken(err.message));
    stream.on("end", () => broken("end"));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.stream?.cancel();
  }

  private apply(e: ObjectEvent): void {
    const objs = e.objectsJson.map((b) => JSON.parse(b.toString()) as T);
    const changed: T[] = [];
    const removed: T[] = [];
    if (e.type === "SYNC") {
      const keep = new Set(objs.map((o) => objectKey(o)));
      for (const [key, old] of this.objects) {
        if (!keep.has(key)) {
          this.objects.delete(key);
          removed.push(old);
        }
      }
      for (const o of objs) {
        this.objects.set(objectKey(o), o);
        changed.push(o);
      }
      this.synced = true;
      this.markSynced();
    } else if (e.type === "DELETED") {
      for (const o of objs) {
        this.objects.delete(objectKey(o));
        removed.push(o);
      }
    } else {
      for (const o of objs) {
        this.objects.set(objectKey(o), o);
        changed.push(o);
      }
    }
    for (const l of this.listeners) l(changed, removed, e.type === "SYNC");
  }
}
