/**
 * Host-local IPAM: hands out pod addresses from the node's podCIDR and remembers them on disk, so an
 * agent restart never gives a live pod's address to another pod.
 *
 * Layout under `<stateDir>/ipam/<network>_<prefix>/`: one file per allocated address, named by the
 * address and holding the pod UID, plus `last-reserved` (where the next search starts, so freed
 * addresses are not reused at once). A file is created complete or not at all: the UID is written to
 * a temporary file that is then hard-linked to the address name, and link(2) fails with EEXIST like
 * an O_EXCL create, so two allocators can never take the same address.
 *
 * Contract: one allocator instance per directory per process (it caches the directory after its first
 * read); a new instance over the same directory, as after a restart, sees every allocation.
 */
import { randomBytes } from "node:crypto";
import { link, mkdir, readdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { formatIpv4, type Ipv4Cidr, isPodAddress, parseIpv4, podCapacity } from "./cidr.js";
import { NetworkError } from "./errors.js";

const LAST_RESERVED = "last-reserved";
const TEMP_PREFIX = ".tmp-";

export class HostLocalIpam {
  readonly dir: string;
  private readonly cidr: Ipv4Cidr;
  /** address (number) → pod UID, loaded from disk on first use. */
  private byIp: Map<number, string> | undefined;
  private lastReserved: number;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(stateDir: string, cidr: Ipv4Cidr) {
    this.cidr = cidr;
    this.dir = join(stateDir, "ipam", cidr.text.replace("/", "_"));
    this.lastReserved = cidr.gateway;
  }

  /**
   * Returns the pod's address: the one it already holds (idempotent), or a free one, never the
   * network, gateway or broadcast address. Throws `Exhausted` when the CIDR is full.
   */
  allocate(podUID: string): Promise<string> {
    return this.serialize(async () => {
      const byIp = await this.load();
      const held = holderOf(byIp, podUID);
      if (held !== undefined) return formatIpv4(held);
      const capacity = podCapacity(this.cidr);
      for (let i = 1; i <= capacity; i++) {
        const ip = this.cidr.gateway + 1 + ((this.lastReserved - this.cidr.gateway + i - 1) % capacity);
        if (byIp.has(ip)) continue;
        if (await this.claim(ip, podUID)) {
          byIp.set(ip, podUID);
          this.lastReserved = ip;
          await this.writeLastReserved(ip);
          return formatIpv4(ip);
        }
        // Claimed on disk by someone this instance had not seen: learn it and move on.
        byIp.set(ip, (await readFile(join(this.dir, formatIpv4(ip)), "utf8").catch(() => "")).trim());
      }
      throw new NetworkError("Exhausted", `no free address left in ${this.cidr.text} (${this.dir})`);
    });
  }

  /** Frees every address the pod holds; returns the address freed, if any. Idempotent. */
  release(podUID: string): Promise<string | undefined> {
    return this.serialize(async () => {
      const byIp = await this.load();
      let freed: string | undefined;
      for (const [ip, uid] of [...byIp]) {
        if (uid !== podUID) continue;
        await unlink(join(this.dir, formatIpv4(ip))).catch(ignoreCode("ENOENT"));
        byIp.delete(ip);
        freed = formatIpv4(ip);
      }
      return freed;
    });
  }

  /** The pod's address, if it holds one. */
  async lookup(podUID: string): Promise<string | undefined> {
    const held = holderOf(await this.serialize(() => this.load()), podUID);
    return held === undefined ? undefined : formatIpv4(held);
  }

  /** Every allocation, address → pod UID (for garbage collection of pods that no longer exist). */
  async allocations(): Promise<Map<string, string>> {
    const byIp = await this.serialize(() => this.load());
    return new Map([...byIp].map(([ip, uid]) => [formatIpv4(ip), uid]));
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async load(): Promise<Map<number, string>> {
    if (this.byIp) return this.byIp;
    await mkdir(this.dir, { recursive: true });
    const byIp = new Map<number, string>();
    for (const name of await readdir(this.dir)) {
      if (name.startsWith(TEMP_PREFIX)) {
        // Left by a crash between writing and linking: never an allocation.
        await unlink(join(this.dir, name)).catch(ignoreCode("ENOENT"));
        continue;
      }
      if (name === LAST_RESERVED) {
        const last = parseIpv4((await readFile(join(this.dir, name), "utf8")).trim(), join(this.dir, name));
        if (isPodAddress(this.cidr, last)) this.lastReserved = last;
        continue;
      }
      const ip = /^[0-9.]+$/.test(name) ? parseIpv4(name, `IPAM file ${join(this.dir, name)}`) : Number.NaN;
      if (!isPodAddress(this.cidr, ip)) {
        throw new NetworkError(
          "Corrupt",
          `IPAM file ${join(this.dir, name)} is not a pod address of ${this.cidr.text}`,
        );
      }
      byIp.set(ip, (await readFile(join(this.dir, name), "utf8")).trim());
    }
    this.byIp = byIp;
    return byIp;
  }

  /** Creates the address file holding `podUID`; false if it already exists. */
  private async claim(ip: number, podUID: string): Promise<boolean> {
    const temp = join(this.dir, `${TEMP_PREFIX}${randomBytes(6).toString("hex")}`);
    await writeFile(temp, `${podUID}\n`, { flag: "wx" });
    try {
      await link(temp, join(this.dir, formatIpv4(ip)));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw err;
    } finally {
      await unlink(temp).catch(ignoreCode("ENOENT"));
    }
  }

  private async writeLastReserved(ip: number): Promise<void> {
    const temp = join(this.dir, `${TEMP_PREFIX}${randomBytes(6).toString("hex")}`);
    await writeFile(temp, `${formatIpv4(ip)}\n`);
    await rename(temp, join(this.dir, LAST_RESERVED));
  }
}

function holderOf(byIp: Map<number, string>, podUID: string): number | undefined {
  for (const [ip, uid] of byIp) if (uid === podUID) return ip;
  return undefined;
}

function ignoreCode(code: string): (err: NodeJS.ErrnoException) => void {
  return (err) => {
    if (err.code !== code) throw err;
  };
}
