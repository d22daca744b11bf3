/** Unit test of fetchLayers with a fake blob sink: concurrency, dedupe, and cleanup on failure. */
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { sha256Digest } from "../images/digest.js";
import type { Descriptor } from "../images/oci.js";
import { type BlobSink, CONCURRENT_DOWNLOADS, fetchLayers, type PullSource } from "./pull-source.js";

const layer = (n: number): Descriptor => ({
  mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
  digest: sha256Digest(String(n)),
  size: 1,
});

function source(layers: Descriptor[]): PullSource {
  const fetcher = { fetch: async () => Readable.from([]), locate: () => "test" };
  return { reference: "r/a:1", manifest: layer(0), layers, diffIds: [], fetcher, images: [] };
}

class FakeSink implements BlobSink {
  running = 0;
  most = 0;
  readonly ingested: string[] = [];
  readonly removed: string[] = [];
  constructor(
    private readonly held: Set<string>,
    private readonly failing?: string,
  ) {}
  async ingest(desc: Descriptor): Promise<boolean> {
    this.running++;
    this.most = Math.max(this.most, this.running);
    await new Promise((r) => setTimeout(r, 5));
    this.running--;
    if (desc.digest === this.failing) throw new Error(`cut: ${desc.digest}`);
    this.ingested.push(desc.digest);
    return !this.held.has(desc.digest);
  }
  async remove(digest: string): Promise<void> {
    this.removed.push(digest);
  }
}

describe("fetchLayers", () => {
  it("downloads a few at a time, each digest once, and reports only what it added", async () => {
    const layers = [1, 2, 3, 4, 5, 6, 2].map(layer);
    const sink = new FakeSink(new Set([layer(3).digest]));
    const stored: string[] = [];
    const added = await fetchLayers(source(layers), sink, (desc) => {
      // Told while the sink holds it and before the others are done: unpacking can start.
      expect(sink.ingested).toContain(desc.digest);
      stored.push(desc.digest);
    });
    expect(stored.sort()).toEqual([...sink.ingested].sort());
    expect(sink.most).toBe(CONCURRENT_DOWNLOADS);
    expect(sink.ingested.sort()).toEqual([1, 2, 3, 4, 5, 6].map((n) => layer(n).digest).sort());
    expect(added.sort()).toEqual([1, 2, 4, 5, 6].map((n) => layer(n).digest).sort());
  });

  it("on a failure removes what it added and throws the first error", async () => {
    const sink = new FakeSink(new Set(), layer(2).digest);
    await expect(fetchLayers(source([1, 2, 3, 4].map(layer)), sink)).rejects.toThrow(
      `cut: ${layer(2).digest}`,
    );
    expect(sink.removed.sort()).toEqual(sink.ingested.sort());
    expect(sink.ingested).not.toContain(layer(2).digest);
  });
});
