import { describe, expect, it } from "vitest";
import { ApiRequestError, type KubeObject, type WatchEvent } from "./api";
import { lineSplitter } from "./ndjson";
import { type ListWatchSource, ResourceCache } from "./resource-cache";

const pod = (name: string, rv: string): KubeObject => ({
  metadata: { name, namespace: "demo", resourceVersion: rv },
});

type Step = WatchEvent<KubeObject>[] | Error;

/**
 * A scripted source: each list answers the next list; each watch plays the next step's events
 * and ends (or throws the step's error). The cache is stopped when the script runs out.
 */
function scripted(lists: KubeObject[][], watches: Step[]) {
  const calls: string[] = [];
  let cache: ResourceCache<KubeObject> | undefined;
  const source: ListWatchSource<KubeObject> = {
    list: async () => {
      const items = lists.shift()!;
      calls.push(`list`);
      return { items, resourceVersion: String(10 * calls.length) };
    },
    watch: async (rv, onEvent) => {
      calls.push(`watch@${rv}`);
      const step = watches.shift();
      if (!step) {
        cache!.stop();
        return;
      }
      if (step instanceof Error) throw step;
      for (const e of step) onEvent(e);
    },
  };
  const delays: number[] = [];
  cache = new ResourceCache(source, () => {}, {
    delayMs: (attempt) => 100 * 2 ** attempt,
    sleep: async (ms) => void delays.push(ms),
  });
  return { cache, calls, delays };
}

describe("ResourceCache", () => {
  it("lists, applies watch events, and resumes from the last resourceVersion, bookmarks included", async () => {
    const { cache, calls } = scripted(
      [[pod("a", "5")]],
      [
        [
          { type: "ADDED", object: pod("b", "11") },
          { type: "MODIFIED", object: pod("a", "12") },
        ],
        [
          { type: "DELETED", object: pod("b", "13") },
          { type: "BOOKMARK", object: { metadata: { name: "", resourceVersion: "20" } } },
        ],
      ],
    );
    await cache.start();
    expect(calls).toEqual(["list", "watch@10", "watch@12", "watch@20"]);
    const state = cache.snapshot();
    expect(state.items.map((p) => `${p.metadata.name}@${p.metadata.resourceVersion}`)).toEqual(["a@12"]);
    expect([state.synced, state.lists]).toEqual([true, 1]);
  });

  it("lists again when the server says the resourceVersion is gone, at the start or mid-stream", async () => {
    const { cache, calls } = scripted(
      [[pod("a", "1")], [pod("c", "1")], [pod("d", "1")]],
      [
        new ApiRequestError(410, "GET", "/api/v1/pods", "too old resource version"),
        [
          { type: "ADDED", object: pod("e", "33") },
          { type: "ERROR", object: { code: 410, message: "gone" } as unknown as KubeObject },
          { type: "ADDED", object: pod("ignored", "34") },
        ],
      ],
    );
    await cache.start();
    expect(calls).toEqual(["list", "watch@10", "list", "watch@30", "list", "watch@50"]);
    expect(cache.snapshot().items.map((p) => p.metadata.name)).toEqual(["d"]);
    expect(cache.snapshot().lists).toBe(3);
  });

  it("backs off on failures and resumes the watch without listing again", async () => {
    const { cache, calls, delays } = scripted(
      [[pod("a", "1")]],
      [new Error("network down"), new Error("network down"), [{ type: "ADDED", object: pod("b", "15") }]],
    );
    await cache.start();
    expect(calls).toEqual(["list", "watch@10", "watch@10", "watch@10", "watch@15"]);
    expect(delays).toEqual([100, 200]);
    expect(cache.snapshot().error).toBeUndefined();
  });
});

describe("lineSplitter", () => {
  it("joins lines split across chunks and skips blank ones", () => {
    const lines: string[] = [];
    const feed = lineSplitter((l) => lines.push(l));
    for (const chunk of ['{"a":', '1}\n\n{"b"', ":2}\n{", '"c":3}\n']) feed(chunk);
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
  });
});
