/**
 * Per-pod user namespace id ranges for pods with `hostUsers: false`: each such pod gets 65536
 * consecutive host ids of its own (container id 0 is host id `hostId`), never shared with another
 * pod while it holds them, and kept across agent restarts so a running pod's files and processes
 * keep their owners.
 *
 * Layout under `<stateDir>/userns/`: one file per allocated block, named by its index and holding
 * the pod UID. A file is created complete or not at all (written to a temporary name, then
 * hard-linked to the block's name; link(2) fails with EEXIST like an O_EXCL create), so two
 * allocations can never take the same block. Block i covers host ids (i+1)·65536 … (i+2)·65536−1:
 * the first 65536 ids stay the host's own users.
 *
 * Contract: one instance per state dir per process (it caches the directory after its first read);
 * a new instance over the same directory, as after a restart, sees every allocation.
 */
import { randomBytes } from "node:crypto";
import { link, mkdir, readdir, readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const USERNS_SIZE = 65536;

export interface IdRange {
  /** The host id that container id 0 maps to. */
  hostId: number;
  size: number;
}

export class UserNamespaceError extends Error {
  override name = "UserNamespaceError";
}

const TEMP_PREFIX = ".tmp-";

export class UserNamespaceRanges {
  readonly dir: string;
  /** block index → pod UID, loaded from disk on first use. */
  private byBlock: Map<number, string> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  /** `blocks`: how many pods may hold a range at once (default 1024, host ids up to 2^26). */
  constructor(
    stateDir: string,
    private readonly blocks = 1024,
  ) {
    this.dir = join(stateDir, "userns");
  }

  /** The pod's range: the one it already holds (idempotent), or the lowest free one. */
  allocate(podUID: string): Promise<IdRange> {
    return this.serialized(async () => {
      const byBlock = await this.load();
      for (const [block, uid] of byBlock) if (uid === podUID) return range(block);
      for (let block = 0; block < this.blocks; block++) {
        if (byBlock.has(block)) continue;
        if (await this.claim(block, podUID)) {
          byBlock.set(block, podUID);
          return range(block);
        }
      }
      throw new UserNamespaceError(
        `no free user namespace range: all ${this.blocks} ranges of ${USERNS_SIZE} ids are held by pods`,
      );
    });
  }

  /** Frees the pod's range, if it holds one. */
  release(podUID: string): Promise<void> {
    return this.serialized(async () => {
      const byBlock = await this.load();
      for (const [block, uid] of [...byBlock]) {
        if (uid !== podUID) continue;
        await unlink(join(this.dir, String(block))).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== "ENOENT") throw err;
        });
        byBlock.delete(block);
      }
    });
  }

  /** The pods holding a range (to release those of pods that are gone). */
  async holders(): Promise<string[]> {
    return this.serialized(async () => [...new Set((await this.load()).values())]);
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async load(): Promise<Map<number, string>> {
    if (this.byBlock) return this.byBlock;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const byBlock = new Map<number, string>();
    for (const name of await readdir(this.dir)) {
      if (name.startsWith(TEMP_PREFIX)) {
        await unlink(join(this.dir, name)).catch(() => undefined);
        continue;
      }
      if (!/^\d+$/.test(name)) continue;
      byBlock.set(Number(name), (await readFile(join(this.dir, name), "utf8")).trim());
    }
    this.byBlock = byBlock;
    return byBlock;
  }

  /** Creates the block's file holding the pod UID; false when it already exists. */
  private async claim(block: number, podUID: string): Promise<boolean> {
    const temp = join(this.dir, `${TEMP_PREFIX}${randomBytes(6).toString("hex")}`);
    await writeFile(temp, `${podUID}\n`, { flag: "wx" });
    try {
      await link(temp, join(this.dir, String(block)));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw err;
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }
}

function range(block: number): IdRange {
  return { hostId: (block + 1) * USERNS_SIZE, size: USERNS_SIZE };
}
