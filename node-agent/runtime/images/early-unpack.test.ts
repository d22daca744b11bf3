/** Unit test of EarlyUnpacks with a fake store: which layers start, failures, and what undo removes. */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sha256Digest } from "./digest.js";
import { type EarlyUnpackStore, EarlyUnpacks } from "./early-unpack.js";
import type { Descriptor } from "./oci.js";

const GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
const blob = (n: number, mediaType = GZIP): Descriptor => ({
  mediaType,
  digest: sha256Digest(String(n)),
  size: 1,
});

/** Layers are dirs under `root`; those in `present` were there before. */
function fakeStore(root: string, present: Set<string>, failing?: string) {
  const unpacked: string[] = [];
  const store: EarlyUnpackStore = {
    layerDir: (diffId) => join(root, diffId),
    unpacks: (mediaType) => mediaType === GZIP,
    unpack: async (_layer, diffId, where) => {
      await new Promise((r) => setTimeout(r, 1));
      if (diffId === failing) throw new Error(`${where}: broken`);
      if (present.has(diffId)) return false;
      mkdirSync(join(root, diffId));
      unpacked.push(diffId);
      return true;
    },
  };
  return { store, unpacked };
}

describe("EarlyUnpacks", () => {
  // Layers 1 and 3 share a blob (one download serves both positions, with one diffID).
  const source = {
    manifest: blob(0),
    layers: [blob(1), blob(2), blob(1), blob(4, "application/x-not-a-layer")],
    diffIds: ["d1", "d2", "d1", "d4"],
  };

  it("unpacks each layer of a stored blob once, leaving media types the store cannot take to the import", async () => {
    const { store, unpacked } = fakeStore(mkdtempSync(join(tmpdir(), "early-unpack-")), new Set(["d2"]));
    const early = new EarlyUnpacks(source, store);
    early.start(blob(1));
    early.start(blob(2));
    early.start(blob(4));
    await early.finished();
    expect(unpacked).toEqual(["d1"]);
  });

  it("throws a failed unpack's error, and undo removes only the layers it made", async () => {
    const root = mkdtempSync(join(tmpdir(), "early-unpack-"));
    mkdirSync(join(root, "d4"));
    const { store } = fakeStore(root, new Set(["d4"]), "d2");
    const early = new EarlyUnpacks({ ...source, layers: [...source.layers.slice(0, 3), blob(4)] }, store);
    early.start(blob(1));
    early.start(blob(2));
    early.start(blob(4));
    await expect(early.finished()).rejects.toThrow(
      `image ${blob(0).digest} layers[1] (${blob(2).digest}): broken`,
    );
    await early.undo();
    expect(readdirSync(root)).toEqual(["d4"]);
    rmSync(root, { recursive: true });
  });
});
