/**
 * Unpacking a pulled image's layers while the others still download, as containerd's unpacker does
 * during a fetch: each layer is unpacked as soon as its blob is stored, rather than all of them one
 * after another once the last download has ended. The import that follows finds them unpacked.
 * It undoes only what it unpacked itself, and never a layer that was there before.
 */
import { rm } from "node:fs/promises";
import type { Descriptor } from "./oci.js";

export interface EarlyUnpackSource {
  manifest: Descriptor;
  layers: readonly Descriptor[];
  /** The config's diffIDs, in the order of `layers`. */
  diffIds: readonly string[];
}

export interface EarlyUnpackStore {
  /** Where the layer with this diffID is unpacked. */
  layerDir(diffId: string): string;
  /** Whether the store can unpack a layer of this media type (others are left to the import to refuse). */
  unpacks(mediaType: string): boolean;
  /** Unpacks a stored layer blob into its dir unless it is there; true when it unpacked it. */
  unpack(layer: Descriptor, diffId: string, where: string): Promise<boolean>;
}

export class EarlyUnpacks {
  private readonly running: Promise<void>[] = [];
  private readonly started = new Set<string>();
  private readonly made: string[] = [];

  constructor(
    private readonly source: EarlyUnpackSource,
    private readonly store: EarlyUnpackStore,
  ) {}

  /** Starts unpacking every layer of the image stored as `blob` (one blob may serve several). */
  start(blob: Descriptor): void {
    this.source.layers.forEach((layer, i) => {
      const diffId = this.source.diffIds[i];
      if (layer.digest !== blob.digest || diffId === undefined || !this.store.unpacks(layer.mediaType))
        return;
      const dir = this.store.layerDir(diffId);
      if (this.started.has(dir)) return;
      this.started.add(dir);
      const where = `image ${this.source.manifest.digest} layers[${i}] (${layer.digest})`;
      this.running.push(
        (async () => {
          if (await this.store.unpack(layer, diffId, where)) this.made.push(dir);
        })(),
      );
    });
  }

  /** Waits for every unpack started; throws the first failure (in layer order of starting). */
  async finished(): Promise<void> {
    const failed = (await Promise.allSettled(this.running)).find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
  }

  /** Waits for the unpacks under way and removes the layer dirs they made. */
  async undo(): Promise<void> {
    await Promise.allSettled(this.running);
    for (const dir of this.made) await rm(dir, { recursive: true, force: true });
  }
}
