/**
 * The informer's local store: objects by key plus optional secondary indexes (e.g. pods by
 * `spec.nodeName`). It owns the frozen objects it holds; readers get them through the `Lister` view.
 */
import { objectKey } from "../../foundation/api/object.js";
import type { DeepReadonly, ObjectWithMeta } from "../../foundation/api/readonly.js";

/** Returns the index values an object is filed under (none, one or several). */
export type IndexFunc<T> = (obj: DeepReadonly<T>) => readonly string[];

/** Read-only access to a cache. Everything it returns is frozen and shared: copy before changing. */
export interface Lister<T> {
  get(key: string): DeepReadonly<T> | undefined;
  list(): DeepReadonly<T>[];
  /** Objects whose index function `indexName` produced `value`. Throws for an unknown index. */
  byIndex(indexName: string, value: string): DeepReadonly<T>[];
  size(): number;
}

export class UnknownIndexError extends Error {
  constructor(indexName: string) {
    super(`no index named "${indexName}" was configured on this informer`);
    this.name = "UnknownIndexError";
  }
}

export class ObjectCache<T extends ObjectWithMeta> implements Lister<T> {
  private readonly items = new Map<string, DeepReadonly<T>>();
  private readonly indices = new Map<string, Map<string, Set<string>>>();

  constructor(private readonly indexers: Readonly<Record<string, IndexFunc<T>>> = {}) {
    for (const name of Object.keys(indexers)) this.indices.set(name, new Map());
  }

  get(key: string): DeepReadonly<T> | undefined {
    return this.items.get(key);
  }

  list(): DeepReadonly<T>[] {
    return [...this.items.values()];
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  size(): number {
    return this.items.size;
  }

  byIndex(indexName: string, value: string): DeepReadonly<T>[] {
    const index = this.indices.get(indexName);
    if (!index) throw new UnknownIndexError(indexName);
    const keys = index.get(value);
    if (!keys) return [];
    const out: DeepReadonly<T>[] = [];
    for (const key of keys) {
      const obj = this.items.get(key);
      if (obj) out.push(obj);
    }
    return out;
  }

  /** Stores `obj` under its key and returns what it replaced. */
  put(obj: DeepReadonly<T>): DeepReadonly<T> | undefined {
    const key = objectKey(obj);
    const old = this.items.get(key);
    if (old) this.unindex(key, old);
    this.items.set(key, obj);
    this.index(key, obj);
    return old;
  }

  /** Removes the object under `key` and returns it. */
  remove(key: string): DeepReadonly<T> | undefined {
    const old = this.items.get(key);
    if (!old) return undefined;
    this.unindex(key, old);
    this.items.delete(key);
    return old;
  }

  private index(key: string, obj: DeepReadonly<T>): void {
    for (const [name, fn] of Object.entries(this.indexers)) {
      const index = this.indices.get(name)!;
      for (const value of fn(obj)) {
        const keys = index.get(value);
        if (keys) keys.add(key);
        else index.set(value, new Set([key]));
      }
    }
  }

  private unindex(key: string, obj: DeepReadonly<T>): void {
    for (const [name, fn] of Object.entries(this.indexers)) {
      const index = this.indices.get(name)!;
      for (const value of fn(obj)) {
        const keys = index.get(value);
        if (!keys) continue;
        keys.delete(key);
        if (keys.size === 0) index.delete(value);
      }
    }
  }
}
