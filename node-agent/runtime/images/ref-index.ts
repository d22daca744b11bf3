/**
 * The store's names: `<images>/refs.json` maps normalised references
 * (`docker.io/library/busybox:latest`) to manifest digests. Rewritten whole through a temporary file
 * and rename, so a reader or a crash sees the old or the new map, never a torn one.
 */
import { randomBytes } from "node:crypto";
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { digestHex } from "./digest.js";
import { ImageError } from "./errors.js";

export class RefIndex {
  readonly path: string;

  constructor(imagesDir: string) {
    this.path = join(imagesDir, "refs.json");
  }

  async read(): Promise<Map<string, string>> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return new Map();
      throw err;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new ImageError("InvalidImage", `${this.path}: not valid JSON`, { cause: err });
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new ImageError("InvalidImage", `${this.path}: must map references to digests`);
    }
    const refs = new Map<string, string>();
    for (const [ref, digest] of Object.entries(parsed)) {
      digestHex(digest, `${this.path}: ${ref}`);
      refs.set(ref, digest as string);
    }
    return refs;
  }

  /** Applies `change` to the current map and writes the result atomically. Callers serialise. */
  async update(change: (refs: Map<string, string>) => void): Promise<void> {
    const refs = await this.read();
    change(refs);
    const sorted = Object.fromEntries([...refs].sort(([a], [b]) => (a < b ? -1 : 1)));
    const temp = `${this.path}.tmp-${randomBytes(4).toString("hex")}`;
    await writeFile(temp, `${JSON.stringify(sorted, null, 2)}\n`);
    await rename(temp, this.path);
  }
}
