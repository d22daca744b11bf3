/**
 * Reads a container's log file in the CRI format the shim's monitor writes
 * (`2026-01-02T15:04:05.123456789Z stdout F text`, with `P` for partial lines) and turns it back
 * into what the container printed: optionally only the last N lines, with timestamps, and following
 * the file as it grows. The monitor rotates the log by size (`<path>.1`, `.2`, ... hold older
 * records); reading covers the rotated files in order, and following goes on across a rotation.
 */
import { type FileHandle, open, readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export interface LogOptions {
  /** Last N lines only; undefined or negative for all. */
  tailLines?: number;
  timestamps?: boolean;
  follow?: boolean;
  /** Follow polls the file this often. */
  pollMs?: number;
  signal?: AbortSignal;
  /** Follow stops once this resolves true (the container exited and everything was read). */
  finished?: () => Promise<boolean>;
  /** Called once what the log held was written: anything the container prints later is followed. */
  started?: () => void;
}

interface Record {
  time: string;
  stream: string;
  partial: boolean;
  text: string;
}

function parse(line: string): Record | undefined {
  const m = /^(\S+) (stdout|stderr) ([PF]) ?(.*)$/.exec(line);
  return m ? { time: m[1]!, stream: m[2]!, partial: m[3] === "P", text: m[4]! } : undefined;
}

export type LogStream = "stdout" | "stderr";

interface Line {
  text: string;
  stream: LogStream;
}

/** Turns CRI records into output lines (partial records joined), each with its first timestamp. */
function render(records: Record[], timestamps: boolean): Line[] {
  const out: Line[] = [];
  let pending = "";
  let firstTime = "";
  for (const r of records) {
    if (!pending) firstTime = r.time;
    pending += r.text;
    if (r.partial) continue;
    out.push({ text: timestamps ? `${firstTime} ${pending}` : pending, stream: r.stream as LogStream });
    pending = "";
  }
  return out;
}

/**
 * The files of a log, oldest first: the rotated ones the shim's monitor leaves (`<path>.1` is the
 * newest, `<path>.2` older, ...) and then `path` itself; those that exist. Gaps (a rotation in
 * progress) are skipped.
 */
export async function logFiles(path: string): Promise<string[]> {
  const base = basename(path);
  const rotated = (await readdir(dirname(path)).catch(() => [] as string[]))
    .map((name) => ({
      name,
      n: name.startsWith(`${base}.`) ? Number(name.slice(base.length + 1)) : Number.NaN,
    }))
    .filter((f) => Number.isInteger(f.n) && f.n > 0)
    .sort((x, y) => y.n - x.n)
    .map((f) => join(dirname(path), f.name));
  return [...rotated, ...((await logExists(path)) ? [path] : [])];
}

async function readRecords(path: string): Promise<Record[]> {
  return parseRecords(await readFile(path, "utf8").catch(() => ""));
}

function parseRecords(text: string): Record[] {
  return text
    .split("\n")
    .map(parse)
    .filter((r): r is Record => r !== undefined);
}

/**
 * Writes the log at `path` (with its rotated files, oldest first) to `write`, line by line, each
 * with the stream it was printed on;
 * resolves when done (or, following, when stopped). Following continues across rotations: when
 * `path` names a new file, the rest of the old one is read, then any file rotated in between,
 * then the new one from its start.
 */
export async function streamLog(
  path: string,
  write: (chunk: string, stream: LogStream) => void,
  opts: LogOptions = {},
): Promise<void> {
  const timestamps = opts.timestamps ?? false;
  let file = await open(path, "r");
  try {
    const older = (await logFiles(path)).filter((f) => f !== path);
    const records: Record[] = [];
    for (const f of older) records.push(...(await readRecords(f)));
    let offset = 0;
    let rest = "";
    const readNew = async (): Promise<Record[]> => {
      const size = (await file.stat()).size;
      if (size <= offset) return [];
      const buf = Buffer.alloc(size - offset);
      await file.read(buf, 0, buf.length, offset);
      offset = size;
      const text = rest + buf.toString();
      const lines = text.split("\n");
      rest = lines.pop() ?? "";
      return lines.map(parse).filter((r): r is Record => r !== undefined);
    };
    /**
     * Records of the files rotated after the open one, then `path` opened afresh. Files are opened
     * before they are identified, so a rotation racing with this one only moves names: the new file
     * is opened first, and the rotated ones read are those strictly between the old and the new.
     */
    const followRotation = async (): Promise<Record[] | undefined> => {
      const next = await open(path, "r").catch(() => undefined);
      if (!next) return undefined;
      const [nextIno, openIno] = [(await next.stat()).ino, (await file.stat()).ino];
      if (nextIno === openIno) {
        await next.close();
        return undefined;
      }
      const out = await readNew();
      const rotated = await Promise.all(
        (await logFiles(path)).filter((f) => f !== path).map((f) => open(f, "r").catch(() => undefined)),
      );
      try {
        const handles = rotated.filter((h): h is FileHandle => h !== undefined);
        const inodes = await Promise.all(handles.map(async (h) => (await h.stat()).ino));
        // Oldest first: what follows the file we had open is newer (all of them if it is gone),
        // up to the file now at `path`, which is read from its start below.
        const end = inodes.indexOf(nextIno) === -1 ? handles.length : inodes.indexOf(nextIno);
        for (const h of handles.slice(inodes.indexOf(openIno) + 1, end))
          out.push(...parseRecords(await h.readFile("utf8")));
      } finally {
        await Promise.all(rotated.map((h) => h?.close()));
      }
      await file.close();
      file = next;
      offset = 0;
      rest = "";
      out.push(...(await readNew()));
      return out;
    };
    records.push(...(await readNew()));
    let lines = render(records, timestamps);
    if (opts.tailLines !== undefined && opts.tailLines >= 0)
      lines = lines.slice(Math.max(0, lines.length - opts.tailLines));
    for (const line of lines) write(`${line.text}\n`, line.stream);
    opts.started?.();
    if (!opts.follow) return;
    for (;;) {
      if (opts.signal?.aborted) return;
      const fresh = await readNew();
      const rotated = fresh.length === 0 ? await followRotation() : undefined;
      for (const line of render(rotated ?? fresh, timestamps)) write(`${line.text}\n`, line.stream);
      if (fresh.length === 0 && rotated === undefined && (await opts.finished?.())) {
        for (const line of render(await readNew(), timestamps)) write(`${line.text}\n`, line.stream);
        return;
      }
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 200));
    }
  } finally {
    await file.close();
  }
}

export async function logExists(path: string | undefined): Promise<boolean> {
  return path
    ? stat(path).then(
        () => true,
        () => false,
      )
    : false;
}
