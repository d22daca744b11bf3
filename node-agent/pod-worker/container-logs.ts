/**
 * Reads a container's log file in the CRI format the shim's monitor writes
 * (`2026-01-02T15:04:05.123456789Z stdout F text`, with `P` for partial lines) and turns it back
 * into what the container printed: optionally only the last N lines, with timestamps, and following
 * the file as it grows.
 */
import { open, stat } from "node:fs/promises";

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

/** Turns CRI records into output lines (partial records joined), each with its first timestamp. */
function render(records: Record[], timestamps: boolean): string[] {
  const out: string[] = [];
  let pending = "";
  let firstTime = "";
  for (const r of records) {
    if (!pending) firstTime = r.time;
    pending += r.text;
    if (r.partial) continue;
    out.push(timestamps ? `${firstTime} ${pending}` : pending);
    pending = "";
  }
  return out;
}

/** Writes the log to `write`, line by line; resolves when done (or, following, when stopped). */
export async function streamLog(
  path: string,
  write: (chunk: string) => void,
  opts: LogOptions = {},
): Promise<void> {
  const file = await open(path, "r");
  try {
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
    let lines = render(await readNew(), opts.timestamps ?? false);
    if (opts.tailLines !== undefined && opts.tailLines >= 0)
      lines = lines.slice(Math.max(0, lines.length - opts.tailLines));
    for (const line of lines) write(`${line}\n`);
    if (!opts.follow) return;
    for (;;) {
      if (opts.signal?.aborted) return;
      const records = await readNew();
      for (const line of render(records, opts.timestamps ?? false)) write(`${line}\n`);
      if (records.length === 0 && (await opts.finished?.())) {
        for (const line of render(await readNew(), opts.timestamps ?? false)) write(`${line}\n`);
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
