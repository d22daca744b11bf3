/**
 * Writes small POSIX (pax) tar archives in memory: directory and character-device entries with
 * owner, mode, mtime and extended attributes. The layer unpacker feeds one to GNU tar to create
 * overlayfs whiteouts (device 0:0) and set `trusted.overlay.opaque`, which Node cannot do itself.
 */

export interface TarEntry {
  /** Relative path inside the archive. */
  path: string;
  type: "directory" | "char-device";
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  xattrs?: Record<string, string>;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

/** One pax record: `<len> key=value\n`, where len counts the whole record including itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len)
    len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

function header(
  name: string,
  typeflag: string,
  size: number,
  entry: Omit<TarEntry, "path" | "type">,
): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, "utf8");
  h.write(octal(entry.mode & 0o7777, 8), 100, "ascii");
  h.write(octal(entry.uid, 8), 108, "ascii");
  h.write(octal(entry.gid, 8), 116, "ascii");
  h.write(octal(size, 12), 124, "ascii");
  h.write(octal(Math.max(0, Math.floor(entry.mtime)), 12), 136, "ascii");
  h.write("        ", 148, "ascii");
  h.write(typeflag, 156, "ascii");
  h.write("ustar\x0000", 257, "ascii");
  h.write(octal(0, 8), 329, "ascii");
  h.write(octal(0, 8), 337, "ascii");
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return h;
}

function padded(data: Buffer): Buffer {
  const rest = data.length % BLOCK;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(BLOCK - rest)]);
}

/** The archive holding `entries`, terminated by the two zero blocks. */
export function writeTar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const path = entry.type === "directory" && !entry.path.endsWith("/") ? `${entry.path}/` : entry.path;
    const records = Object.entries(entry.xattrs ?? {}).map(([k, v]) => paxRecord(`SCHILY.xattr.${k}`, v));
    // The ustar name field holds 100 bytes; longer paths travel in the pax header.
    if (Buffer.byteLength(path) > 100) records.push(paxRecord("path", path));
    if (records.length > 0) {
      const pax = Buffer.from(records.join(""), "utf8");
      parts.push(header("PaxHeader", "x", pax.length, entry), padded(pax));
    }
    parts.push(header(path.slice(0, 100), entry.type === "directory" ? "5" : "3", 0, entry));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}
