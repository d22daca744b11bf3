/**
 * Reads tar archives (ustar, pax, GNU long names) as a stream of entries, the way GNU tar reads
 * them: pax `path`/`linkpath`/`size` and GNU `L`/`K` records override the header, the ustar prefix
 * counts only under the POSIX magic, numbers may be octal or base-256. Entries are handed out one
 * at a time; their data must be read (or is skipped) before the next. The layer unpacker checks
 * each entry here and writes a clean archive of its own for GNU tar, so the writer never sees a
 * header this reader did not understand: anything unusual (sparse files, multi-volume parts, bad
 * checksums, a global header that renames entries) is refused rather than guessed.
 */

const BLOCK = 512;

export type TarEntryType =
  | "file"
  | "directory"
  | "symlink"
  | "hardlink"
  | "char-device"
  | "block-device"
  | "fifo";

export interface TarReadEntry {
  /** The name as written (pax/GNU long name applied), not yet normalised. */
  name: string;
  type: TarEntryType;
  /** Bytes of data that follow (only files have any). */
  size: number;
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Target of a symlink or hard link, as written. */
  linkName: string;
  devMajor: number;
  devMinor: number;
  /** Extended attributes from `SCHILY.xattr.*` pax records; values are raw bytes. */
  xattrs: Map<string, Buffer>;
}

export class TarFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TarFormatError";
  }
}

const TYPES: Record<string, TarEntryType> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "1": "hardlink",
  "2": "symlink",
  "3": "char-device",
  "4": "block-device",
  "5": "directory",
  "6": "fifo",
};

/** Pax keys that would change how the following bytes are framed or named in ways not handled. */
const GLOBAL_FORBIDDEN = /^(path|linkpath|size|GNU\.sparse\..*)$/;

/** Pulls exact byte counts out of a chunked stream. */
class ByteReader {
  private buffered: Buffer[] = [];
  private length = 0;
  /** Bytes handed out so far: the offset of the next byte, for error messages. */
  offset = 0;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  private async fill(n: number): Promise<boolean> {
    while (this.length < n) {
      const next = await this.source.next();
      if (next.done) return false;
      const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
      this.buffered.push(chunk);
      this.length += chunk.length;
    }
    return true;
  }

  /** Exactly `n` bytes, or undefined at the end of the stream (a partial read is an error). */
  async read(n: number): Promise<Buffer | undefined> {
    if (!(await this.fill(n))) {
      if (this.length === 0) return undefined;
      throw new TarFormatError(
        `archive ends in the middle of a block at offset ${this.offset + this.length}`,
      );
    }
    const all = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.buffered = rest.length > 0 ? [rest] : [];
    this.length = rest.length;
    this.offset += n;
    return out;
  }

  /** `n` bytes as they arrive, in chunks; throws if the stream ends first. */
  async *take(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.length === 0 && !(await this.fill(1))) {
        throw new TarFormatError(`archive ends inside an entry's data at offset ${this.offset}`);
      }
      const head = this.buffered[0]!;
      const part = head.length <= left ? head : head.subarray(0, left);
      if (part === head) this.buffered.shift();
      else this.buffered[0] = head.subarray(left);
      this.length -= part.length;
      this.offset += part.length;
      left -= part.length;
      yield part;
    }
  }

  /** Reads and discards everything left (so a hash over the stream covers all of it). */
  async drain(): Promise<void> {
    this.buffered = [];
    this.length = 0;
    for (let next = await this.source.next(); !next.done; next = await this.source.next());
  }
}

function cString(block: Buffer, start: number, len: number): string {
  const field = block.subarray(start, start + len);
  const nul = field.indexOf(0);
  return (nul < 0 ? field : field.subarray(0, nul)).toString("utf8");
}

function numberField(block: Buffer, start: number, len: number, what: string, offset: number): number {
  const field = block.subarray(start, start + len);
  if ((field[0]! & 0x80) !== 0) {
    // Base-256 (GNU): big-endian two's complement with the top bit of the first byte as marker.
    if ((field[0]! & 0x40) !== 0)
      throw new TarFormatError(`negative ${what} in the header at offset ${offset}`);
    let value = field[0]! & 0x3f;
    for (let i = 1; i < len; i++) value = value * 256 + field[i]!;
    if (!Number.isSafeInteger(value))
      throw new TarFormatError(`${what} too large in the header at offset ${offset}`);
    return value;
  }
  const text = cString(block, start, len).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text))
    throw new TarFormatError(`${what} "${text}" is not octal in the header at offset ${offset}`);
  return Number.parseInt(text, 8);
}

function checksumOk(block: Buffer, offset: number): boolean {
  const stored = numberField(block, 148, 8, "checksum", offset);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** Pax records `<len> key=value\n`; values stay bytes (xattr values are binary). */
function parsePax(data: Buffer, offset: number): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) break;
    const space = data.indexOf(0x20, at);
    const len = space < 0 ? Number.NaN : Number(data.subarray(at, space).toString("ascii"));
    if (!Number.isInteger(len) || len <= 0 || at + len > data.length || data[at + len - 1] !== 0x0a) {
      throw new TarFormatError(`malformed pax record in the extended header at offset ${offset}`);
    }
    const record = data.subarray(space + 1, at + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq < 0) throw new TarFormatError(`pax record without '=' in the extended header at offset ${offset}`);
    records.set(record.subarray(0, eq).toString("utf8"), record.subarray(eq + 1));
    at += len;
  }
  return records;
}

function paxNumber(records: Map<string, Buffer>, key: string, offset: number): number | undefined {
  const raw = records.get(key)?.toString("utf8");
  if (raw === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(raw))
    throw new TarFormatError(`pax ${key} "${raw}" is not a number at offset ${offset}`);
  const value = Math.floor(Number(raw));
  if (!Number.isSafeInteger(value)) throw new TarFormatError(`pax ${key} too large at offset ${offset}`);
  return value;
}

/**
 * The entries of the archive read from `source`. Each entry's data is the generator from
 * {@link TarReader.data}; whatever of it is left unread is skipped by the next `next()`.
 */
export class TarReader {
  private readonly bytes: ByteReader;
  private pendingData = 0;
  private ended = false;

  constructor(source: AsyncIterable<Buffer>) {
    this.bytes = new ByteReader(source[Symbol.asyncIterator]());
  }

  /** Offset of the next unread byte of the uncompressed stream. */
  get offset(): number {
    return this.bytes.offset;
  }

  /** The next entry, or undefined at the end-of-archive marker (or end of stream). */
  async next(): Promise<TarReadEntry | undefined> {
    if (this.ended) return undefined;
    await this.skipRest();
    const pax = new Map<string, Buffer>();
    let longName: string | undefined;
    let longLink: string | undefined;
    for (;;) {
      const offset = this.bytes.offset;
      const block = await this.bytes.read(BLOCK);
      if (block === undefined || block.every((b) => b === 0)) {
        this.ended = true;
        return undefined;
      }
      if (!checksumOk(block, offset)) throw new TarFormatError(`bad header checksum at offset ${offset}`);
      const flag = String.fromCharCode(block[156]!);
      let size = numberField(block, 124, 12, "size", offset);
      if (flag === "x" || flag === "g" || flag === "L" || flag === "K") {
        if (size > 1024 * 1024)
          throw new TarFormatError(`extended header of ${size} bytes at offset ${offset}`);
        const data = await this.readPadded(size);
        if (flag === "x") {
          for (const [k, v] of parsePax(data, offset)) pax.set(k, v);
        } else if (flag === "g") {
          const bad = [...parsePax(data, offset).keys()].find((k) => GLOBAL_FORBIDDEN.test(k));
          if (bad !== undefined)
            throw new TarFormatError(`global pax header sets "${bad}" for every entry at offset ${offset}`);
        } else {
          const text = cString(data, 0, data.length);
          if (flag === "L") longName = text;
          else longLink = text;
        }
        continue;
      }
      const type = TYPES[flag];
      if (type === undefined) {
        throw new TarFormatError(`unsupported entry type '${printable(flag)}' at offset ${offset}`);
      }
      if ([...pax.keys()].some((k) => k.startsWith("GNU.sparse."))) {
        throw new TarFormatError(`sparse entry at offset ${offset} is not supported`);
      }
      size = paxNumber(pax, "size", offset) ?? size;
      const magic = block.subarray(257, 263).toString("latin1");
      const prefix = magic === "ustar\0" ? cString(block, 345, 155) : "";
      const headerName = prefix !== "" ? `${prefix}/${cString(block, 0, 100)}` : cString(block, 0, 100);
      const name = pax.get("path")?.toString("utf8") ?? longName ?? headerName;
      // GNU tar (like V7 tar) takes a regular-file entry whose name ends in '/' for a directory.
      const effective = type === "file" && flag !== "7" && name.endsWith("/") ? "directory" : type;
      if (effective !== "file" && size !== 0) {
        // Readers disagree on whether such data exists; a mismatch would let data pass as headers.
        throw new TarFormatError(
          `${effective} entry "${name}" at offset ${offset} carries ${size} bytes of data`,
        );
      }
      const xattrs = new Map<string, Buffer>();
      for (const [k, v] of pax)
        if (k.startsWith("SCHILY.xattr.")) xattrs.set(k.slice("SCHILY.xattr.".length), v);
      this.pendingData = size;
      return {
        name,
        type: effective,
        size,
        mode: numberField(block, 100, 8, "mode", offset),
        uid: paxNumber(pax, "uid", offset) ?? numberField(block, 108, 8, "uid", offset),
        gid: paxNumber(pax, "gid", offset) ?? numberField(block, 116, 8, "gid", offset),
        mtime: paxNumber(pax, "mtime", offset) ?? numberField(block, 136, 12, "mtime", offset),
        linkName: pax.get("linkpath")?.toString("utf8") ?? longLink ?? cString(block, 157, 100),
        devMajor: numberField(block, 329, 8, "devmajor", offset),
        devMinor: numberField(block, 337, 8, "devminor", offset),
        xattrs,
      };
    }
  }

  /** The data of the entry last returned by `next()`, in chunks. */
  async *data(): AsyncGenerator<Buffer> {
    const size = this.pendingData;
    this.pendingData = 0;
    yield* this.bytes.take(size);
    await this.skipPadding(size);
  }

  /** Consumes the rest of the stream after an early stop, so a hash over it is complete. */
  drain(): Promise<void> {
    this.pendingData = 0;
    return this.bytes.drain();
  }

  private async skipRest(): Promise<void> {
    if (this.pendingData === 0) return;
    for await (const _ of this.data());
  }

  private async skipPadding(size: number): Promise<void> {
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (pad > 0 && (await this.bytes.read(pad)) === undefined) {
      throw new TarFormatError(`archive ends inside padding at offset ${this.bytes.offset}`);
    }
  }

  private async readPadded(size: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const part of this.bytes.take(size)) parts.push(part);
    await this.skipPadding(size);
    return Buffer.concat(parts);
  }
}

function printable(flag: string): string {
  const code = flag.charCodeAt(0);
  return code >= 0x20 && code < 0x7f ? flag : `\\x${code.toString(16).padStart(2, "0")}`;
}
