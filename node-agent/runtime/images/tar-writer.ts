/**
 * Writes POSIX (pax) tar archives for GNU tar to extract: the layer unpacker re-emits each checked
 * entry through {@link entryHeader} (its data follows, padded by {@link padding}), and feeds small
 * in-memory archives from {@link writeTar} to create overlayfs whiteouts (device 0:0) and set
 * `trusted.overlay.opaque`, which Node cannot do itself. Names, link targets, large numbers and
 * xattrs travel in a pax header whenever the ustar fields cannot hold them exactly.
 */

export interface TarEntry {
  /** Relative path inside the archive. */
  path: string;
  type: "file" | "directory" | "symlink" | "hardlink" | "char-device" | "block-device" | "fifo";
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Target of a symlink or hard link. */
  linkPath?: string;
  /** Device numbers (devices only; 0:0 when absent, as overlayfs whiteouts are). */
  major?: number;
  minor?: number;
  /** Bytes of data that follow the header (files only). */
  size?: number;
  xattrs?: Record<string, string | Buffer> | Map<string, Buffer>;
}

const BLOCK = 512;
const TYPEFLAG: Record<TarEntry["type"], string> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  "char-device": "3",
  "block-device": "4",
  directory: "5",
  fifo: "6",
};

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

/** One pax record: `<len> key=value\n`, where len counts the whole record including itself. */
function paxRecord(key: string, value: string | Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from("\n")]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

/** True when `value` fits an octal field of `width` bytes (one is the NUL). */
function fitsOctal(value: number, width: number): boolean {
  return value >= 0 && value < 8 ** (width - 1);
}

function header(name: string, typeflag: string, size: number, entry: TarEntry, linkName = ""): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, "utf8");
  h.write(octal(entry.mode & 0o7777, 8), 100, "ascii");
  h.write(octal(fitsOctal(entry.uid, 8) ? entry.uid : 0, 8), 108, "ascii");
  h.write(octal(fitsOctal(entry.gid, 8) ? entry.gid : 0, 8), 116, "ascii");
  h.write(octal(fitsOctal(size, 12) ? size : 0, 12), 124, "ascii");
  const mtime = Math.max(0, Math.floor(entry.mtime));
  h.write(octal(fitsOctal(mtime, 12) ? mtime : 0, 12), 136, "ascii");
  h.write("        ", 148, "ascii");
  h.write(typeflag, 156, "ascii");
  h.write(linkName, 157, 100, "utf8");
  h.write("ustar\x0000", 257, "ascii");
  h.write(octal(entry.major ?? 0, 8), 329, "ascii");
  h.write(octal(entry.minor ?? 0, 8), 337, "ascii");
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return h;
}

/** Zero bytes that complete the last block of `size` bytes of data. */
export function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** The header block(s) of `entry`: a pax header when needed, then the ustar header. */
export function entryHeader(entry: TarEntry): Buffer {
  const size = entry.type === "file" ? (entry.size ?? 0) : 0;
  const path = entry.type === "directory" && !entry.path.endsWith("/") ? `${entry.path}/` : entry.path;
  const link = entry.linkPath ?? "";
  const xattrs = entry.xattrs instanceof Map ? [...entry.xattrs] : Object.entries(entry.xattrs ?? {});
  const records = xattrs.map(([k, v]) => paxRecord(`SCHILY.xattr.${k}`, v));
  // The ustar name and link fields hold 100 bytes; longer ones travel in the pax header.
  if (Buffer.byteLength(path) > 100) records.push(paxRecord("path", path));
  if (Buffer.byteLength(link) > 100) records.push(paxRecord("linkpath", link));
  if (!fitsOctal(entry.uid, 8)) records.push(paxRecord("uid", String(entry.uid)));
  if (!fitsOctal(entry.gid, 8)) records.push(paxRecord("gid", String(entry.gid)));
  if (!fitsOctal(size, 12)) records.push(paxRecord("size", String(size)));
  if (!fitsOctal(Math.max(0, Math.floor(entry.mtime)), 12))
    records.push(paxRecord("mtime", String(entry.mtime)));
  const parts: Buffer[] = [];
  if (records.length > 0) {
    const pax = Buffer.concat(records);
    parts.push(header("PaxHeader", "x", pax.length, entry), pax, padding(pax.length));
  }
  parts.push(header(truncate(path), TYPEFLAG[entry.type], size, entry, truncate(link)));
  return Buffer.concat(parts);
}

/** The first 100 bytes of `text`, cut at a character boundary (the pax record has it whole). */
function truncate(text: string): string {
  const bytes = Buffer.from(text);
  return bytes.length <= 100
    ? text
    : bytes
        .subarray(0, 100)
        .toString("utf8")
        .replace(/\uFFFD+$/, "");
}

/** The end-of-archive marker: two zero blocks. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

/** The archive holding `entries` (a file's `data` sets its size), terminated. */
export function writeTar(entries: readonly (TarEntry & { data?: Buffer })[]): Buffer {
  const parts = entries.flatMap(({ data, ...entry }) =>
    data === undefined
      ? [entryHeader(entry)]
      : [entryHeader({ ...entry, size: data.length }), data, padding(data.length)],
  );
  return Buffer.concat([...parts, END_OF_ARCHIVE]);
}
